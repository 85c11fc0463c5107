// File attributes: chmod, fchmod, fchmodat; chown, fchown, lchown,
// fchownat; utimensat, futimesat, utimes, utime; access, faccessat,
// faccessat2. The caller is always root: permission checks pass, except
// that execute permission needs an execute bit (or a directory) and writing
// needs a writable filesystem, as for root on Linux.
#include "arch/x86_64/mm/UserCopy.h"
#include "kernel/lib/String.h"
#include "kernel/syscall/FileArgs.h"
#include "kernel/syscall/Table.h"
#include "kernel/time/Clock.h"
#include "uapi/errno.h"
#include "uapi/fcntl.h"
#include "uapi/stat.h"
#include "uapi/unistd_64.h"

namespace sys {
namespace {

long result_of(const Result<void>& r) { return r.is_error() ? error(r.error()) : 0; }

// setattr on a path argument of an *at() call, or on dirfd's own file for
// AT_EMPTY_PATH with "".
long setattr_at(int dirfd, u64 user_path, bool follow, bool allow_empty, const vfs::SetAttr& attributes)
{
    PathScratch scratch;
    if (!scratch.ok())
        return -ENOMEM;
    auto at = resolve_at(dirfd, user_path, allow_empty, scratch);
    if (at.is_error())
        return error(at.error());
    if (at.value().empty && dirfd != AT_FDCWD) {
        FdRef file(dirfd, true);
        if (!file)
            return -EBADF;
        return result_of(vfs::fsetattr(*file, attributes));
    }
    return result_of(vfs::setattr(StringView(at.value().absolute, strlen(at.value().absolute)), attributes, follow));
}

long setattr_fd(u64 fd, const vfs::SetAttr& attributes)
{
    FdRef file(static_cast<int>(fd));
    if (!file)
        return -EBADF;
    return result_of(vfs::fsetattr(*file, attributes));
}

bool read_only(const vfs::Inode& inode) { return inode.superblock.read_only; }

// --- chmod ----------------------------------------------------------------------

vfs::SetAttr mode_change(u64 mode)
{
    vfs::SetAttr attributes;
    attributes.valid = vfs::ATTR_MODE;
    attributes.mode = static_cast<u32>(mode) & 07777;
    return attributes;
}

long sys_chmod(u64 path, u64 mode, u64, u64, u64, u64) { return setattr_at(AT_FDCWD, path, true, false, mode_change(mode)); }
long sys_fchmod(u64 fd, u64 mode, u64, u64, u64, u64) { return setattr_fd(fd, mode_change(mode)); }
long sys_fchmodat(u64 dirfd, u64 path, u64 mode, u64, u64, u64)
{
    return setattr_at(static_cast<int>(dirfd), path, true, false, mode_change(mode));
}

// --- chown ----------------------------------------------------------------------

// (uid_t)-1 / (gid_t)-1 leave that id as it is. Changing the owner of a
// non-directory clears set-user-ID, and set-group-ID when group execute is
// set (Linux's setattr_should_drop_suidgid, for root too).
Result<vfs::SetAttr> owner_change(u64 uid, u64 gid, const vfs::Stat& current)
{
    vfs::SetAttr attributes;
    if (static_cast<u32>(uid) != ~0u) {
        attributes.valid |= vfs::ATTR_UID;
        attributes.uid = static_cast<u32>(uid);
    }
    if (static_cast<u32>(gid) != ~0u) {
        attributes.valid |= vfs::ATTR_GID;
        attributes.gid = static_cast<u32>(gid);
    }
    if (attributes.valid && (current.mode & S_IFMT) != S_IFDIR && (current.mode & S_IFMT) != S_IFLNK) {
        u32 mode = current.mode & 07777;
        mode &= ~static_cast<u32>(S_ISUID);
        if (mode & S_IXGRP)
            mode &= ~static_cast<u32>(S_ISGID);
        if (mode != (current.mode & 07777)) {
            attributes.valid |= vfs::ATTR_MODE;
            attributes.mode = mode;
        }
    }
    return attributes;
}

long chown_at(int dirfd, u64 user_path, u64 uid, u64 gid, u64 flags)
{
    if (unknown_flags(flags, AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
        return -EINVAL;
    const bool follow = !(flags & AT_SYMLINK_NOFOLLOW);
    PathScratch scratch;
    if (!scratch.ok())
        return -ENOMEM;
    auto at = resolve_at(dirfd, user_path, flags & AT_EMPTY_PATH, scratch);
    if (at.is_error())
        return error(at.error());
    vfs::Stat st;
    if (at.value().empty && dirfd != AT_FDCWD) {
        FdRef file(dirfd, true);
        if (!file)
            return -EBADF;
        (void)vfs::fstat(*file, st);
        auto attributes = owner_change(uid, gid, st);
        return result_of(vfs::fsetattr(*file, attributes.value()));
    }
    const StringView path(at.value().absolute, strlen(at.value().absolute));
    if (auto r = follow ? vfs::stat(path, st) : vfs::lstat(path, st); r.is_error())
        return error(r.error());
    auto attributes = owner_change(uid, gid, st);
    return result_of(vfs::setattr(path, attributes.value(), follow));
}

long sys_chown(u64 path, u64 uid, u64 gid, u64, u64, u64) { return chown_at(AT_FDCWD, path, uid, gid, 0); }
long sys_lchown(u64 path, u64 uid, u64 gid, u64, u64, u64)
{
    return chown_at(AT_FDCWD, path, uid, gid, AT_SYMLINK_NOFOLLOW);
}
long sys_fchownat(u64 dirfd, u64 path, u64 uid, u64 gid, u64 flags, u64)
{
    return chown_at(static_cast<int>(dirfd), path, uid, gid, flags);
}

long sys_fchown(u64 fd, u64 uid, u64 gid, u64, u64, u64)
{
    FdRef file(static_cast<int>(fd));
    if (!file)
        return -EBADF;
    vfs::Stat st;
    (void)vfs::fstat(*file, st);
    auto attributes = owner_change(uid, gid, st);
    return result_of(vfs::fsetattr(*file, attributes.value()));
}

// --- times ----------------------------------------------------------------------

struct TimeSpec {
    i64 seconds;
    i64 nanoseconds;
};

struct TimeVal {
    i64 seconds;
    i64 microseconds;
};

// "Now" for UTIME_NOW and a NULL times argument. There is no wall clock
// yet (no RTC read at boot): the clock ext2 stamps inodes with, 2024-01-01
// plus the time since boot.
constexpr u64 CLOCK_EPOCH = 1704067200;
u64 now_seconds() { return CLOCK_EPOCH + clock_ns() / 1'000'000'000; }

// Two timespecs (atime, mtime) into a SetAttr; UTIME_NOW and UTIME_OMIT
// as utimensat(2) says; EINVAL for a nanosecond field out of range.
Result<vfs::SetAttr> times_change(const TimeSpec* times)
{
    vfs::SetAttr attributes;
    attributes.valid = vfs::ATTR_CTIME;
    attributes.ctime = now_seconds();
    if (!times) {
        attributes.valid |= vfs::ATTR_ATIME | vfs::ATTR_MTIME;
        attributes.atime = attributes.mtime = attributes.ctime;
        return attributes;
    }
    for (int i = 0; i < 2; i++) {
        const i64 ns = times[i].nanoseconds;
        if (ns != UTIME_NOW && ns != UTIME_OMIT && (ns < 0 || ns >= 1'000'000'000))
            return Error::from_errno(EINVAL);
    }
    if (times[0].nanoseconds != UTIME_OMIT) {
        attributes.valid |= vfs::ATTR_ATIME;
        attributes.atime = times[0].nanoseconds == UTIME_NOW ? attributes.ctime : static_cast<u64>(times[0].seconds);
    }
    if (times[1].nanoseconds != UTIME_OMIT) {
        attributes.valid |= vfs::ATTR_MTIME;
        attributes.mtime = times[1].nanoseconds == UTIME_NOW ? attributes.ctime : static_cast<u64>(times[1].seconds);
    }
    if (times[0].nanoseconds == UTIME_OMIT && times[1].nanoseconds == UTIME_OMIT)
        attributes.valid = 0; // nothing changes, not even ctime
    return attributes;
}

// utimensat(dirfd, path, times, flags). A NULL path with a descriptor
// means that file (how futimens is built; no flags allowed then); with
// AT_FDCWD it is a bad pointer. Both times UTIME_OMIT: done, before any
// lookup (Linux's do_utimes).
long sys_utimensat(u64 dirfd, u64 user_path, u64 user_times, u64 flags, u64, u64)
{
    if (unknown_flags(flags, AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
        return -EINVAL;
    TimeSpec times[2];
    if (user_times
        && user::copy_from_user(times, reinterpret_cast<const void*>(user_times), sizeof times).is_error())
        return -EFAULT;
    auto attributes = times_change(user_times ? times : nullptr);
    if (attributes.is_error())
        return error(attributes.error());
    if (!attributes.value().valid)
        return 0;
    if (!user_path && static_cast<int>(dirfd) != AT_FDCWD) {
        if (flags)
            return -EINVAL;
        FdRef file(static_cast<int>(dirfd), true);
        if (!file)
            return -EBADF;
        return result_of(vfs::fsetattr(*file, attributes.value()));
    }
    return setattr_at(static_cast<int>(dirfd), user_path, !(flags & AT_SYMLINK_NOFOLLOW), flags & AT_EMPTY_PATH,
                      attributes.value());
}

// futimesat/utimes: timevals; EINVAL for microseconds out of range.
long times_from_timevals(int dirfd, u64 user_path, u64 user_times)
{
    if (!user_times)
        return setattr_at(dirfd, user_path, true, false, times_change(nullptr).value());
    TimeVal values[2];
    if (user::copy_from_user(values, reinterpret_cast<const void*>(user_times), sizeof values).is_error())
        return -EFAULT;
    TimeSpec times[2];
    for (int i = 0; i < 2; i++) {
        if (values[i].microseconds < 0 || values[i].microseconds >= 1'000'000)
            return -EINVAL;
        times[i] = { values[i].seconds, values[i].microseconds * 1000 };
    }
    return setattr_at(dirfd, user_path, true, false, times_change(times).value());
}

long sys_futimesat(u64 dirfd, u64 path, u64 times, u64, u64, u64)
{
    return times_from_timevals(static_cast<int>(dirfd), path, times);
}

long sys_utimes(u64 path, u64 times, u64, u64, u64, u64) { return times_from_timevals(AT_FDCWD, path, times); }

// utime(path, struct utimbuf { actime; modtime; }).
long sys_utime(u64 path, u64 user_times, u64, u64, u64, u64)
{
    if (!user_times)
        return setattr_at(AT_FDCWD, path, true, false, times_change(nullptr).value());
    i64 values[2];
    if (user::copy_from_user(values, reinterpret_cast<const void*>(user_times), sizeof values).is_error())
        return -EFAULT;
    const TimeSpec times[2] = { { values[0], 0 }, { values[1], 0 } };
    return setattr_at(AT_FDCWD, path, true, false, times_change(times).value());
}

// --- access ---------------------------------------------------------------------

constexpr u64 ACCESS_MODES = 7; // R_OK | W_OK | X_OK (F_OK is 0)
constexpr u64 W_OK_BIT = 2;
constexpr u64 X_OK_BIT = 1;

long access_at(int dirfd, u64 user_path, u64 mode, u64 flags)
{
    if (mode & ~ACCESS_MODES)
        return -EINVAL;
    if (unknown_flags(flags, AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
        return -EINVAL;
    PathScratch scratch;
    if (!scratch.ok())
        return -ENOMEM;
    auto at = resolve_at(dirfd, user_path, flags & AT_EMPTY_PATH, scratch);
    if (at.is_error())
        return error(at.error());
    vfs::Stat st;
    bool on_read_only = false;
    if (at.value().empty && dirfd != AT_FDCWD) {
        FdRef file(dirfd, true);
        if (!file)
            return -EBADF;
        (void)vfs::fstat(*file, st);
        on_read_only = read_only(*file->inode);
    } else {
        const StringView path(at.value().absolute, strlen(at.value().absolute));
        auto r = (flags & AT_SYMLINK_NOFOLLOW) ? vfs::lstat(path, st) : vfs::stat(path, st);
        if (r.is_error())
            return error(r.error());
        // The filesystem's read-only flag, through an O_PATH open of the name.
        auto file = vfs::open(path, O_PATH | ((flags & AT_SYMLINK_NOFOLLOW) ? u32(O_NOFOLLOW) : 0u));
        if (!file.is_error()) {
            on_read_only = read_only(*file.value()->inode);
            (void)vfs::close(file.value());
        }
    }
    const u32 type = st.mode & S_IFMT;
    if ((mode & W_OK_BIT) && on_read_only && (type == S_IFREG || type == S_IFDIR || type == S_IFLNK))
        return -EROFS;
    if ((mode & X_OK_BIT) && type != S_IFDIR && !(st.mode & 0111))
        return -EACCES;
    return 0;
}

long sys_access(u64 path, u64 mode, u64, u64, u64, u64) { return access_at(AT_FDCWD, path, mode, 0); }
long sys_faccessat(u64 dirfd, u64 path, u64 mode, u64, u64, u64) { return access_at(static_cast<int>(dirfd), path, mode, 0); }
long sys_faccessat2(u64 dirfd, u64 path, u64 mode, u64 flags, u64, u64)
{
    return access_at(static_cast<int>(dirfd), path, mode, flags);
}

} // namespace

void register_attribute_syscalls()
{
    register_syscall(__NR_chmod, "chmod", sys_chmod);
    register_syscall(__NR_fchmod, "fchmod", sys_fchmod);
    register_syscall(__NR_fchmodat, "fchmodat", sys_fchmodat);
    register_syscall(__NR_chown, "chown", sys_chown);
    register_syscall(__NR_fchown, "fchown", sys_fchown);
    register_syscall(__NR_lchown, "lchown", sys_lchown);
    register_syscall(__NR_fchownat, "fchownat", sys_fchownat);
    register_syscall(__NR_utimensat, "utimensat", sys_utimensat);
    register_syscall(__NR_futimesat, "futimesat", sys_futimesat);
    register_syscall(__NR_utimes, "utimes", sys_utimes);
    register_syscall(__NR_utime, "utime", sys_utime);
    register_syscall(__NR_access, "access", sys_access);
    register_syscall(__NR_faccessat, "faccessat", sys_faccessat);
    register_syscall(__NR_faccessat2, "faccessat2", sys_faccessat2);
}

} // namespace sys
