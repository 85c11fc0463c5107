// A process's file descriptor table: small integers naming open files.
//
// Linux semantics (fs/file.c): a new descriptor is the lowest free number;
// dup() and dup2() make a second descriptor for the same File, so both share
// one position and one set of status flags (O_APPEND, ...); FD_CLOEXEC
// belongs to the descriptor, not to the File, is set by O_CLOEXEC at open and
// cleared by dup()/dup2(), and close_on_exec() closes every descriptor that
// has it. Files are reference counted (vfs::file_get / vfs::close): a File
// goes away when its last descriptor (or kernel holder) drops it.
//
// Locking: the slots are reached only through their spinlock. Dropping a
// File may sleep (vfs::close takes the namespace mutex), so descriptors are
// taken out under the lock and their Files released after it.
#pragma once

#include "fs/vfs/Vfs.h"
#include "kernel/sync/Guarded.h"

namespace vfs {

class FdTable {
public:
    // RLIMIT_NOFILE: Linux's default soft limit is 1024; a kernel without
    // user processes yet keeps the table small and fixed.
    static constexpr int MAX_FDS = 256;

    FdTable() = default;
    ~FdTable() { close_all(); }
    FdTable(const FdTable&) = delete;
    FdTable& operator=(const FdTable&) = delete;

    // Install `file` (taking over the caller's reference) at the lowest free
    // descriptor. fd_flags: FD_CLOEXEC or 0. EMFILE when the table is full
    // (the reference stays with the caller).
    Result<int> install(File* file, u32 fd_flags = 0);
    // Install at the lowest free descriptor >= `lowest` (F_DUPFD).
    Result<int> install_from(File* file, int lowest, u32 fd_flags = 0);
    // Install at exactly `fd`, closing what was there (dup2). EBADF for an fd
    // out of range.
    Result<int> install_at(int fd, File* file, u32 fd_flags = 0);
    // open(2): vfs::open, then install with FD_CLOEXEC from O_CLOEXEC.
    Result<int> open(StringView path, u32 flags, u32 mode = 0644);

    // The File behind `fd`, with a new reference (drop it with vfs::close).
    Result<File*> get(int fd) const;
    Result<void> close(int fd);

    // dup(2): lowest free descriptor, FD_CLOEXEC clear.
    Result<int> dup(int fd);
    // dup2(2): `new_fd` names the same File as `old_fd` (closing what it named);
    // old_fd == new_fd checks old_fd and returns it.
    Result<int> dup2(int old_fd, int new_fd);
    // dup3(2): like dup2 with O_CLOEXEC allowed in flags; EINVAL if the fds are
    // equal or flags has anything else.
    Result<int> dup3(int old_fd, int new_fd, u32 flags);

    // fcntl(F_GETFD / F_SETFD).
    Result<u32> fd_flags(int fd) const;
    Result<void> set_fd_flags(int fd, u32 fd_flags);

    // fork(2) without CLONE_FILES: this (empty) table gets every descriptor
    // of `other`, naming the same Files (new references), with their flags.
    void copy_from(const FdTable& other);

    // execve: close every descriptor with FD_CLOEXEC. Returns how many.
    usize close_on_exec();
    void close_all();
    usize open_count() const;

private:
    struct Slots {
        File* files[MAX_FDS] = {};
        u8 flags[MAX_FDS] = {};
    };
    static bool valid(int fd) { return fd >= 0 && fd < MAX_FDS; }

    Guarded<Slots> m_slots{ LockRank::Generic, "fd table" };
};

} // namespace vfs
