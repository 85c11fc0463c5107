// Durability and space control on open files: fsync, fdatasync, sync,
// syncfs, sync_file_range, fallocate and fadvise64; truncate and ftruncate.
#include "fs/vfs/Vfs.h"
#include "kernel/syscall/FileArgs.h"
#include "kernel/syscall/Table.h"
#include "kernel/lib/String.h"
#include "uapi/errno.h"
#include "uapi/fcntl.h"
#include "uapi/unistd_64.h"

namespace sys {
namespace {

long result_of(const Result<void>& r) { return r.is_error() ? error(r.error()) : 0; }

bool is_pipe_like(const vfs::Inode& inode)
{
    const u32 type = inode.mode & S_IFMT;
    return type == S_IFIFO || type == S_IFSOCK;
}

long sys_fsync(u64 fd, u64, u64, u64, u64, u64)
{
    FdRef file(static_cast<int>(fd));
    return !file ? -EBADF : result_of(vfs::fsync(*file));
}

long sys_fdatasync(u64 fd, u64, u64, u64, u64, u64)
{
    FdRef file(static_cast<int>(fd));
    return !file ? -EBADF : result_of(vfs::fdatasync(*file));
}

// sync(2) cannot fail; errors stay with the filesystems.
long sys_sync(u64, u64, u64, u64, u64, u64)
{
    (void)vfs::sync_all();
    return 0;
}

long sys_syncfs(u64 fd, u64, u64, u64, u64, u64)
{
    FdRef file(static_cast<int>(fd), true);
    if (!file)
        return -EBADF;
    return result_of(file->inode->superblock.sync());
}

// sync_file_range: the flags say which of wait-before, write and
// wait-after to do; here any of them writes the file's dirty data and waits
// (fdatasync), which does at least what was asked.
constexpr u64 SYNC_FILE_RANGE_ALL = 1 | 2 | 4;

long sys_sync_file_range(u64 fd, u64 offset, u64 length, u64 flags, u64, u64)
{
    if (flags & ~SYNC_FILE_RANGE_ALL)
        return -EINVAL;
    if (static_cast<i64>(offset) < 0 || static_cast<i64>(length) < 0
        || static_cast<i64>(offset) + static_cast<i64>(length) < static_cast<i64>(offset))
        return -EINVAL;
    FdRef file(static_cast<int>(fd));
    if (!file)
        return -EBADF;
    const vfs::Inode& inode = *file->inode;
    if (!inode.is_regular() && !inode.is_directory() && !inode.is_block_device() && !inode.is_symlink())
        return -ESPIPE;
    if (!flags)
        return 0;
    return result_of(vfs::fdatasync(*file));
}

// fallocate: mode 0 makes [offset, offset + length) part of the file
// (extending its size; blocks are allocated as the range is written, which
// ENOSPC may then refuse: a weaker guarantee than Linux's). KEEP_SIZE alone
// is accepted and changes nothing; hole punching and the other modes are
// EOPNOTSUPP, as on filesystems without them.
constexpr u64 FALLOC_FL_KNOWN = 0x01 | 0x02 | 0x08 | 0x10 | 0x20 | 0x40;

long sys_fallocate(u64 fd, u64 mode, u64 offset, u64 length, u64, u64)
{
    if (static_cast<i64>(offset) < 0 || static_cast<i64>(length) <= 0)
        return -EINVAL;
    if (mode & ~FALLOC_FL_KNOWN)
        return -EOPNOTSUPP;
    if ((mode & FALLOC_FL_PUNCH_HOLE) && !(mode & FALLOC_FL_KEEP_SIZE))
        return -EOPNOTSUPP;
    FdRef file(static_cast<int>(fd));
    if (!file)
        return -EBADF;
    if ((file->flags & O_ACCMODE) == O_RDONLY)
        return -EBADF;
    vfs::Inode& inode = *file->inode;
    if (is_pipe_like(inode))
        return -ESPIPE;
    if (inode.is_directory())
        return -EISDIR;
    if (!inode.is_regular())
        return -ENODEV;
    if (static_cast<i64>(offset + length) < 0)
        return -EFBIG;
    if (mode & ~FALLOC_FL_KEEP_SIZE)
        return -EOPNOTSUPP;
    if (mode & FALLOC_FL_KEEP_SIZE)
        return 0;
    if (offset + length <= inode.size)
        return 0;
    vfs::SetAttr attributes;
    attributes.valid = vfs::ATTR_SIZE;
    attributes.size = offset + length;
    return result_of(vfs::fsetattr(*file, attributes));
}

// fadvise64: POSIX_FADV_DONTNEED writes back and drops the file's clean
// cached pages; the other advice is accepted (readahead keeps its own
// adaptive window).

long sys_fadvise64(u64 fd, u64 offset, u64 length, u64 advice, u64, u64)
{
    FdRef file(static_cast<int>(fd));
    if (!file)
        return -EBADF;
    if (is_pipe_like(*file->inode))
        return -ESPIPE;
    if (advice > POSIX_FADV_NOREUSE)
        return -EINVAL;
    if (static_cast<i64>(length) < 0)
        return -EINVAL;
    (void)offset;
    if (advice == POSIX_FADV_DONTNEED && file->inode->is_regular())
        return result_of(vfs::drop_cache(*file));
    return 0;
}

long sys_ftruncate(u64 fd, u64 length, u64, u64, u64, u64)
{
    if (static_cast<i64>(length) < 0)
        return -EINVAL;
    FdRef file(static_cast<int>(fd));
    if (!file)
        return -EBADF;
    // Linux: EINVAL for anything but a regular file open for writing.
    if (!file->inode->is_regular() || (file->flags & O_ACCMODE) == O_RDONLY)
        return -EINVAL;
    return result_of(vfs::ftruncate(*file, length));
}

long sys_truncate(u64 user_path, u64 length, u64, u64, u64, u64)
{
    PathScratch scratch;
    if (!scratch.ok())
        return -ENOMEM;
    auto at = resolve_at(AT_FDCWD, user_path, false, scratch);
    if (at.is_error())
        return error(at.error());
    if (static_cast<i64>(length) < 0)
        return -EINVAL;
    const StringView path(at.value().absolute, strlen(at.value().absolute));
    vfs::Stat st;
    if (auto r = vfs::stat(path, st); r.is_error())
        return error(r.error());
    if ((st.mode & S_IFMT) == S_IFDIR)
        return -EISDIR;
    if ((st.mode & S_IFMT) != S_IFREG)
        return -EINVAL;
    return result_of(vfs::truncate(path, length));
}

} // namespace

void register_control_syscalls()
{
    register_syscall(__NR_fsync, "fsync", sys_fsync);
    register_syscall(__NR_fdatasync, "fdatasync", sys_fdatasync);
    register_syscall(__NR_sync, "sync", sys_sync);
    register_syscall(__NR_syncfs, "syncfs", sys_syncfs);
    register_syscall(__NR_sync_file_range, "sync_file_range", sys_sync_file_range);
    register_syscall(__NR_fallocate, "fallocate", sys_fallocate);
    register_syscall(__NR_fadvise64, "fadvise64", sys_fadvise64);
    register_syscall(__NR_ftruncate, "ftruncate", sys_ftruncate);
    register_syscall(__NR_truncate, "truncate", sys_truncate);
}

} // namespace sys
