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

// --- statfs ---------------------------------------------------------------------

// x86-64 struct statfs (asm-generic/statfs.h with 64-bit longs).
struct UserStatFs {
    i64 f_type;
    i64 f_bsize;
    u64 f_blocks;
    u64 f_bfree;
    u64 f_bavail;
    u64 f_files;
    u64 f_ffree;
    i32 f_fsid[2];
    i64 f_namelen;
    i64 f_frsize;
    i64 f_flags;
    i64 f_spare[4];
};
static_assert(sizeof(UserStatFs) == 120);

constexpr i64 ST_RDONLY = 0x0001;
constexpr i64 ST_VALID = 0x0020; // f_flags is filled (Linux 2.6.36 and later)
constexpr i64 ST_RELATIME = 0x1000;

// The f_type of the filesystems that do not say (Linux's magic numbers).
u64 magic_of(const char* type_name)
{
    const StringView type(type_name, strlen(type_name));
    if (type == StringView("ramfs", 5))
        return 0x858458f6; // RAMFS_MAGIC
    if (type == StringView("devfs", 5))
        return 0x01021994; // TMPFS_MAGIC, as devtmpfs reports
    if (type == StringView("proc", 4))
        return 0x9fa0; // PROC_SUPER_MAGIC
    return 0;
}

long put_statfs(vfs::SuperBlock& superblock, u64 user_buffer)
{
    vfs::FsStats stats;
    superblock.stats(stats);
    UserStatFs out;
    memset(&out, 0, sizeof out);
    out.f_type = static_cast<i64>(stats.magic ? stats.magic : magic_of(superblock.type_name));
    out.f_bsize = static_cast<i64>(stats.block_size);
    out.f_frsize = static_cast<i64>(stats.block_size);
    out.f_blocks = stats.blocks;
    out.f_bfree = stats.free_blocks;
    out.f_bavail = stats.available_blocks;
    out.f_files = stats.files;
    out.f_ffree = stats.free_files;
    out.f_namelen = static_cast<i64>(stats.name_length);
    // Mounts are relatime by default on Linux, and so reported.
    out.f_flags = ST_VALID | ST_RELATIME | (superblock.read_only ? ST_RDONLY : 0);
    return user::copy_to_user(reinterpret_cast<void*>(user_buffer), &out, sizeof out).is_error() ? -EFAULT : 0;
}

long sys_statfs(u64 user_path, u64 buffer, u64, u64, u64, u64)
{
    PathScratch scratch;
    if (!scratch.ok())
        return -ENOMEM;
    auto at = resolve_at(AT_FDCWD, user_path, false, scratch);
    if (at.is_error())
        return error(at.error());
    auto file = vfs::open(StringView(at.value().absolute, strlen(at.value().absolute)), O_PATH);
    if (file.is_error())
        return error(file.error());
    const long result = put_statfs(file.value()->inode->superblock, buffer);
    (void)vfs::close(file.value());
    return result;
}

long sys_fstatfs(u64 fd, u64 buffer, u64, u64, u64, u64)
{
    FdRef file(static_cast<int>(fd), true);
    if (!file)
        return -EBADF;
    return put_statfs(file->inode->superblock, buffer);
}

} // namespace

void register_stat_syscalls()
{
    register_syscall(__NR_statfs, "statfs", sys_statfs);
    register_syscall(__NR_fstatfs, "fstatfs", sys_fstatfs);
    register_syscall(__NR_stat, "stat", sys_stat);
    register_syscall(__NR_fstat, "fstat", sys_fstat);
    register_syscall(__NR_lstat, "lstat", sys_lstat);
    register_syscall(__NR_newfstatat, "newfstatat", sys_newfstatat);
    register_syscall(__NR_statx, "statx", sys_statx);
}

} // namespace sys
