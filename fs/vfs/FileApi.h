// The in-kernel file API: what ktests use now and the syscall layer wraps
// later. Paths are absolute or relative to the root (no working directory in
// the kernel); flags and errors are Linux's.
#pragma once

#include "fs/vfs/Vfs.h"

namespace vfs {

Result<File*> open(StringView path, u32 flags, u32 mode = 0644);
// Drops one reference (see File); the last one releases the file.
Result<void> close(File* file);

// Data transfers on `buffer` (mm::IoIter: kernel or user memory, an iovec
// array, pages), advanced by the bytes moved; read/write use and move the
// file position. pread's `flags`: pagecache::READ_NOWAIT for a read that
// must not wait for I/O (EAGAIN; io_uring's first attempt).
Result<usize> read(File& file, mm::IoIter& buffer);
Result<usize> write(File& file, mm::IoIter& buffer);
Result<usize> pread(File& file, mm::IoIter& buffer, u64 offset, u32 flags = 0);
Result<usize> pwrite(File& file, mm::IoIter& buffer, u64 offset);
// Kernel-memory conveniences.
Result<usize> read(File& file, void* buffer, usize length);
Result<usize> write(File& file, const void* buffer, usize length);
Result<usize> pread(File& file, void* buffer, usize length, u64 offset);
Result<usize> pwrite(File& file, const void* buffer, usize length, u64 offset);
Result<u64> lseek(File& file, i64 offset, int whence);
// ioctl(2): ENOTTY unless the file type has the command.
Result<long> ioctl(File& file, u32 request, unsigned long argument);
// The POLL* events of `events` that are ready now (plus POLLERR/POLLHUP).
u32 poll(File& file, u32 events);
// The file's mmap hook (ENODEV where the file cannot be mapped).
Result<void> mmap(File& file, MmapRequest& request);
// setattr: ATTR_SIZE truncates (EINVAL on a file not open for writing),
// mode/uid/gid/times are stored in the inode and written back by the
// filesystem.
Result<void> fsetattr(File& file, const SetAttr& attributes);
// `follow`: through a final symlink (chown) or on the link itself (lchown).
Result<void> setattr(StringView path, const SetAttr& attributes, bool follow = true);
Result<void> chmod(StringView path, u32 mode);
Result<void> chown(StringView path, u32 uid, u32 gid);
Result<void> utimes(StringView path, u64 atime, u64 mtime);
Result<void> fsync(File& file);
Result<void> fdatasync(File& file);
Result<void> ftruncate(File& file, u64 size);
Result<void> fstat(File& file, Stat& out);
// posix_fadvise(POSIX_FADV_DONTNEED) of the whole file: write back and drop
// its cached pages.
Result<void> drop_cache(File& file);

Result<void> stat(StringView path, Stat& out);
Result<void> lstat(StringView path, Stat& out);
Result<void> mkdir(StringView path, u32 mode = 0755);
Result<void> unlink(StringView path);
Result<void> rmdir(StringView path);
Result<void> rename(StringView old_path, StringView new_path);
Result<void> symlink(StringView target, StringView link_path);
// link(2): `new_path` names the file `old_path` names (following a final
// symlink only with `follow`). EPERM for a directory, EXDEV across mounts.
Result<void> link(StringView old_path, StringView new_path, bool follow = false);
Result<usize> readlink(StringView path, char* buffer, usize capacity);
Result<void> truncate(StringView path, u64 size);

// linux_dirent64 records into `buffer` (getdents64); 0 at the end.
Result<usize> getdents(File& file, void* buffer, usize capacity);
// One entry at a time, for kernel callers.
Result<bool> readdir(File& file, DirEntry& out);

// linux_dirent64 (include/linux/dirent.h)
struct [[gnu::packed]] LinuxDirent64 {
    u64 d_ino;
    i64 d_off;
    u16 d_reclen;
    u8 d_type;
    char d_name[];
};

} // namespace vfs
