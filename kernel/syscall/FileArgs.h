// What the file syscall families share: the File behind a descriptor, path
// arguments copied in from user memory, and the "at" convention (a path
// relative to a directory descriptor, AT_FDCWD, AT_EMPTY_PATH).
//
// Paths. The VFS walks absolute paths (kernel/proc/Paths.h), so a relative
// path is joined to the directory it is relative to: the cwd for AT_FDCWD,
// the path of the directory descriptor's name otherwise (vfs::path_of). A
// directory descriptor whose directory was removed is ENOENT for every
// relative path, as lookups in a dead directory are on Linux.
#pragma once

#include "fs/vfs/FileApi.h"
#include "kernel/lib/Result.h"
#include "kernel/proc/Process.h"

namespace sys {

inline long error(const Error& e) { return -static_cast<long>(e.code()); }

// The File behind `fd` for the duration of a syscall (holds a reference).
// An O_PATH descriptor counts as closed (EBADF) unless `allow_path`.
class FdRef {
public:
    explicit FdRef(int fd, bool allow_path = false);
    ~FdRef();
    FdRef(const FdRef&) = delete;
    FdRef& operator=(const FdRef&) = delete;
    vfs::File* get() const { return m_file; }
    vfs::File* operator->() const { return m_file; }
    vfs::File& operator*() const { return *m_file; }
    explicit operator bool() const { return m_file != nullptr; }

private:
    vfs::File* m_file = nullptr;
};

// A kernel buffer of PATH_CAPACITY bytes per slot, freed with the object.
class PathScratch {
public:
    explicit PathScratch(usize slots = 3);
    ~PathScratch();
    PathScratch(const PathScratch&) = delete;
    PathScratch& operator=(const PathScratch&) = delete;
    bool ok() const { return m_data != nullptr; }
    char* slot(usize i) const { return m_data + i * proc::PATH_CAPACITY; }

private:
    char* m_data;
};

// Copy a user path into `out` (PATH_CAPACITY bytes): EFAULT for a bad
// pointer, ENAMETOOLONG for PATH_MAX bytes or more. An empty string is
// returned as such (the caller decides: ENOENT or AT_EMPTY_PATH).
Result<usize> copy_path(u64 user_path, char* out);

// A path argument of an *at() call, resolved against its directory.
struct AtPath {
    const char* absolute = nullptr; // the path to hand the VFS
    // AT_EMPTY_PATH with "": the call is about `dirfd` itself (its file, or
    // the cwd for AT_FDCWD), and `absolute` is that file's path.
    bool empty = false;
};

// Copy `user_path` and make it absolute against `dirfd` (AT_FDCWD or an open
// directory: EBADF, ENOTDIR). Uses scratch slots `first` to `first + 2`.
// `allow_empty`: AT_EMPTY_PATH was given (else "" is ENOENT).
Result<AtPath> resolve_at(int dirfd, u64 user_path, bool allow_empty, PathScratch& scratch, usize first = 0);

// flags & ~allowed: EINVAL (the *at() calls refuse unknown flags).
inline bool unknown_flags(u64 flags, u64 allowed) { return (flags & ~allowed) != 0; }

} // namespace sys
