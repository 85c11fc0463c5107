// stat(2) and friends: stat, fstat, lstat, newfstatat, statx; statfs and
// fstatfs. Times are whole seconds (the VFS keeps no nanoseconds), so every
// *_nsec field is 0.
#include "arch/x86_64/mm/UserCopy.h"
#include "kernel/lib/String.h"
#include "kernel/syscall/FileArgs.h"
#include "kernel/syscall/Table.h"
#include "uapi/errno.h"
#include "uapi/fcntl.h"
#include "uapi/stat.h"
#include "uapi/unistd_64.h"

namespace sys {
namespace {

// Linux's new_decode_dev (include/linux/kdev_t.h): the user dev_t layout.
u32 device_major(u64 dev) { return static_cast<u32>((dev >> 8) & 0xfff); }
u32 device_minor(u64 dev) { return static_cast<u32>((dev & 0xff) | ((dev >> 12) & 0xfff00)); }

void to_user_stat(const vfs::Stat& in, uapi::stat& out)
{
    memset(&out, 0, sizeof out);
    out.st_dev = in.device;
    out.st_ino = in.inode;
    out.st_nlink = in.links;
    out.st_mode = in.mode;
    out.st_uid = in.uid;
    out.st_gid = in.gid;
    out.st_rdev = in.rdev;
    out.st_size = static_cast<long>(in.size);
    out.st_blksize = in.block_size;
    out.st_blocks = static_cast<long>(in.blocks);
    out.st_atime = in.atime;
    out.st_mtime = in.mtime;
    out.st_ctime = in.ctime;
}

// The Stat of a path argument of an *at() call (AT_EMPTY_PATH: of dirfd).
Result<void> stat_at(int dirfd, u64 user_path, bool follow, bool allow_empty, vfs::Stat& out)
{
    PathScratch scratch;
    if (!scratch.ok())
        return Error::from_errno(ENOMEM);
    const AtPath at = TRY(resolve_at(dirfd, user_path, allow_empty, scratch));
    if (at.empty && dirfd != AT_FDCWD) {
        FdRef file(dirfd, true);
        if (!file)
            return Error::from_errno(EBADF);
        return vfs::fstat(*file, out);
    }
    const StringView path(at.absolute, strlen(at.absolute));
    return follow ? vfs::stat(path, out) : vfs::lstat(path, out);
}

long put_stat(const vfs::Stat& in, u64 user_buffer)
{
    uapi::stat out;
    to_user_stat(in, out);
    return user::copy_to_user(reinterpret_cast<void*>(user_buffer), &out, sizeof out).is_error() ? -EFAULT : 0;
}

long path_stat(int dirfd, u64 path, u64 buffer, bool follow, bool allow_empty)
{
    vfs::Stat st;
    if (auto r = stat_at(dirfd, path, follow, allow_empty, st); r.is_error())
        return error(r.error());
    return put_stat(st, buffer);
}

long sys_stat(u64 path, u64 buffer, u64, u64, u64, u64) { return path_stat(AT_FDCWD, path, buffer, true, false); }
long sys_lstat(u64 path, u64 buffer, u64, u64, u64, u64) { return path_stat(AT_FDCWD, path, buffer, false, false); }

long sys_fstat(u64 fd, u64 buffer, u64, u64, u64, u64)
{
    FdRef file(static_cast<int>(fd), true);
    if (!file)
        return -EBADF;
    vfs::Stat st;
    if (auto r = vfs::fstat(*file, st); r.is_error())
        return error(r.error());
    return put_stat(st, buffer);
}

long sys_newfstatat(u64 dirfd, u64 path, u64 buffer, u64 flags, u64, u64)
{
    if (unknown_flags(flags, AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT))
        return -EINVAL;
    return path_stat(static_cast<int>(dirfd), path, buffer, !(flags & AT_SYMLINK_NOFOLLOW), flags & AT_EMPTY_PATH);
}

// statx: the basic stats are always filled (stx_mask says so, whatever was
// asked, as Linux does); there is no birth time or mount id.
long sys_statx(u64 dirfd, u64 path, u64 flags, u64 mask, u64 buffer, u64)
{
    if (unknown_flags(flags, AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT | AT_STATX_SYNC_TYPE))
        return -EINVAL;
    if ((flags & AT_STATX_SYNC_TYPE) == AT_STATX_SYNC_TYPE)
        return -EINVAL;
    if (mask & STATX__RESERVED)
        return -EINVAL;
    vfs::Stat st;
    if (auto r = stat_at(static_cast<int>(dirfd), path, !(flags & AT_SYMLINK_NOFOLLOW), flags & AT_EMPTY_PATH, st);
        r.is_error())
        return error(r.error());
    uapi::statx out;
    memset(&out, 0, sizeof out);
    out.stx_mask = STATX_BASIC_STATS;
    out.stx_blksize = st.block_size;
    out.stx_nlink = st.links;
    out.stx_uid = st.uid;
    out.stx_gid = st.gid;
    out.stx_mode = static_cast<u16>(st.mode);
    out.stx_ino = st.inode;
    out.stx_size = st.size;
    out.stx_blocks = st.blocks;
    out.stx_atime.tv_sec = static_cast<i64>(st.atime);
    out.stx_ctime.tv_sec = static_cast<i64>(st.ctime);
    out.stx_mtime.tv_sec = static_cast<i64>(st.mtime);
    out.stx_rdev_major = device_major(st.rdev);
    out.stx_rdev_minor = device_minor(st.rdev);
    out.stx_dev_major = device_major(st.device);
    out.stx_dev_minor = device_minor(st.device);
    return user::copy_to_user(reinterpret_cast<void*>(buffer), &out, sizeof out).is_error() ? -EFAULT : 0;
}

} // namespace

void register_stat_syscalls()
{
    register_syscall(__NR_stat, "stat", sys_stat);
    register_syscall(__NR_fstat, "fstat", sys_fstat);
    register_syscall(__NR_lstat, "lstat", sys_lstat);
    register_syscall(__NR_newfstatat, "newfstatat", sys_newfstatat);
    register_syscall(__NR_statx, "statx", sys_statx);
}

} // namespace sys
