// Directory syscalls: reading directories (getdents64, getdents), names
// (mkdir, rmdir, unlink, rename, symlink, readlink and their *at forms) and
// the working directory by descriptor (fchdir).
#include "arch/x86_64/mm/UserCopy.h"
#include "kernel/lib/String.h"
#include "kernel/mm/Heap.h"
#include "kernel/proc/Current.h"
#include "kernel/syscall/FileArgs.h"
#include "kernel/syscall/Table.h"
#include "uapi/errno.h"
#include "uapi/fcntl.h"
#include "uapi/stat.h"
#include "uapi/unistd_64.h"

namespace sys {
namespace {

// One call fills at most this much (a caller with a larger buffer gets the
// rest on its next call, as with any short getdents).
constexpr usize DIRENT_CHUNK = 32 * KiB;

// getdents64 records into a kernel buffer, then to the caller. `legacy`
// rewrites each record in place into the old struct linux_dirent, which
// has the same length for the same name: d_ino, d_off, d_reclen, the name,
// and d_type in the record's last byte.
long read_directory(u64 fd, u64 user_buffer, u64 count, bool legacy)
{
    FdRef file(static_cast<int>(fd));
    if (!file)
        return -EBADF;
    if (!file->inode->is_directory())
        return -ENOTDIR;
    if (!user::access_ok(user_buffer, count))
        return -EFAULT;
    const usize capacity = min<u64>(count, DIRENT_CHUNK);
    auto* buffer = static_cast<u8*>(kmalloc(max<usize>(capacity, 1)));
    if (!buffer)
        return -ENOMEM;
    struct Free {
        void* p;
        ~Free() { kfree(p); }
    } free_buffer{ buffer };
    auto filled = vfs::getdents(*file, buffer, capacity);
    if (filled.is_error())
        return error(filled.error());
    if (legacy) {
        for (usize at = 0; at < filled.value();) {
            auto* record = reinterpret_cast<vfs::LinuxDirent64*>(buffer + at);
            const u16 length = record->d_reclen;
            const u8 type = record->d_type;
            const usize name_length = strlen(record->d_name);
            // d_ino (8), d_off (8), d_reclen (2), name: the name moves back one byte.
            memmove(buffer + at + 18, record->d_name, name_length + 1);
            buffer[at + length - 1] = type;
            at += length;
        }
    }
    if (user::copy_to_user(reinterpret_cast<void*>(user_buffer), buffer, filled.value()).is_error())
        return -EFAULT;
    return static_cast<long>(filled.value());
}

long sys_getdents64(u64 fd, u64 buffer, u64 count, u64, u64, u64) { return read_directory(fd, buffer, count, false); }
long sys_getdents(u64 fd, u64 buffer, u64 count, u64, u64, u64) { return read_directory(fd, buffer, count, true); }

// A path argument of an *at() call as the VFS takes it.
struct NameArg {
    PathScratch scratch{ 6 };
    StringView path;
};

Result<void> name_at(int dirfd, u64 user_path, NameArg& out, usize first = 0)
{
    if (!out.scratch.ok())
        return Error::from_errno(ENOMEM);
    const AtPath at = TRY(resolve_at(dirfd, user_path, false, out.scratch, first));
    out.path = StringView(at.absolute, strlen(at.absolute));
    return {};
}

long result_of(const Result<void>& r) { return r.is_error() ? error(r.error()) : 0; }

u32 current_umask()
{
    return proc::current_process()->fs->state.with([](const proc::FsContext::State& s) { return s.umask; });
}

long mkdir_at(int dirfd, u64 user_path, u64 mode)
{
    NameArg name;
    if (auto r = name_at(dirfd, user_path, name); r.is_error())
        return error(r.error());
    // Linux keeps the permission bits and the sticky bit, less the umask.
    return result_of(vfs::mkdir(name.path, static_cast<u32>(mode) & (0777 | S_ISVTX) & ~current_umask()));
}

long sys_mkdir(u64 path, u64 mode, u64, u64, u64, u64) { return mkdir_at(AT_FDCWD, path, mode); }
long sys_mkdirat(u64 dirfd, u64 path, u64 mode, u64, u64, u64) { return mkdir_at(static_cast<int>(dirfd), path, mode); }

long unlink_at(int dirfd, u64 user_path, u64 flags)
{
    if (unknown_flags(flags, AT_REMOVEDIR))
        return -EINVAL;
    NameArg name;
    if (auto r = name_at(dirfd, user_path, name); r.is_error())
        return error(r.error());
    return result_of((flags & AT_REMOVEDIR) ? vfs::rmdir(name.path) : vfs::unlink(name.path));
}

long sys_unlink(u64 path, u64, u64, u64, u64, u64) { return unlink_at(AT_FDCWD, path, 0); }
long sys_rmdir(u64 path, u64, u64, u64, u64, u64) { return unlink_at(AT_FDCWD, path, AT_REMOVEDIR); }
long sys_unlinkat(u64 dirfd, u64 path, u64 flags, u64, u64, u64) { return unlink_at(static_cast<int>(dirfd), path, flags); }

// renameat2: RENAME_NOREPLACE fails with EEXIST when the new name exists;
// RENAME_EXCHANGE (and RENAME_WHITEOUT) are EINVAL, as on a filesystem
// without them (ext2 on Linux).

long rename_at(int old_dirfd, u64 old_path, int new_dirfd, u64 new_path, u64 flags)
{
    if (unknown_flags(flags, RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT))
        return -EINVAL;
    if ((flags & RENAME_NOREPLACE) && (flags & (RENAME_EXCHANGE | RENAME_WHITEOUT)))
        return -EINVAL;
    if ((flags & RENAME_EXCHANGE) && (flags & RENAME_WHITEOUT))
        return -EINVAL;
    NameArg names;
    if (auto r = name_at(old_dirfd, old_path, names, 0); r.is_error())
        return error(r.error());
    const StringView from = names.path;
    if (auto r = name_at(new_dirfd, new_path, names, 3); r.is_error())
        return error(r.error());
    const StringView to = names.path;
    if (flags & (RENAME_EXCHANGE | RENAME_WHITEOUT))
        return -EINVAL;
    if (flags & RENAME_NOREPLACE) {
        vfs::Stat st;
        if (auto source = vfs::lstat(from, st); source.is_error())
            return error(source.error());
        if (!vfs::lstat(to, st).is_error())
            return -EEXIST;
    }
    return result_of(vfs::rename(from, to));
}

long sys_rename(u64 old_path, u64 new_path, u64, u64, u64, u64)
{
    return rename_at(AT_FDCWD, old_path, AT_FDCWD, new_path, 0);
}

long sys_renameat(u64 old_dirfd, u64 old_path, u64 new_dirfd, u64 new_path, u64, u64)
{
    return rename_at(static_cast<int>(old_dirfd), old_path, static_cast<int>(new_dirfd), new_path, 0);
}

long sys_renameat2(u64 old_dirfd, u64 old_path, u64 new_dirfd, u64 new_path, u64 flags, u64)
{
    return rename_at(static_cast<int>(old_dirfd), old_path, static_cast<int>(new_dirfd), new_path, flags);
}

long symlink_at(u64 user_target, int dirfd, u64 user_path)
{
    NameArg name;
    if (!name.scratch.ok())
        return -ENOMEM;
    char* target = name.scratch.slot(5);
    auto length = copy_path(user_target, target);
    if (length.is_error())
        return error(length.error());
    if (auto r = name_at(dirfd, user_path, name); r.is_error())
        return error(r.error());
    if (length.value() == 0)
        return -ENOENT;
    return result_of(vfs::symlink(StringView(target, length.value()), name.path));
}

long sys_symlink(u64 target, u64 path, u64, u64, u64, u64) { return symlink_at(target, AT_FDCWD, path); }
long sys_symlinkat(u64 target, u64 dirfd, u64 path, u64, u64, u64) { return symlink_at(target, static_cast<int>(dirfd), path); }

long readlink_at(int dirfd, u64 user_path, u64 user_buffer, u64 size)
{
    if (static_cast<i32>(size) <= 0)
        return -EINVAL;
    NameArg name;
    if (auto r = name_at(dirfd, user_path, name); r.is_error())
        return error(r.error());
    char* body = name.scratch.slot(5);
    auto length = vfs::readlink(name.path, body, proc::PATH_CAPACITY);
    if (length.is_error())
        return error(length.error());
    // Cut to the caller's buffer, no NUL added (readlink(2)).
    const usize n = min<usize>(length.value(), size);
    if (user::copy_to_user(reinterpret_cast<void*>(user_buffer), body, n).is_error())
        return -EFAULT;
    return static_cast<long>(n);
}

long sys_readlink(u64 path, u64 buffer, u64 size, u64, u64, u64) { return readlink_at(AT_FDCWD, path, buffer, size); }
long sys_readlinkat(u64 dirfd, u64 path, u64 buffer, u64 size, u64, u64)
{
    return readlink_at(static_cast<int>(dirfd), path, buffer, size);
}

// linkat(olddirfd, old, newdirfd, new, flags): AT_SYMLINK_FOLLOW follows a
// final symlink of the old name (link(2) does not); AT_EMPTY_PATH links
// the file olddirfd names.
long link_at(int old_dirfd, u64 old_path, int new_dirfd, u64 new_path, u64 flags)
{
    if (unknown_flags(flags, AT_SYMLINK_FOLLOW | AT_EMPTY_PATH))
        return -EINVAL;
    NameArg names;
    if (!names.scratch.ok())
        return -ENOMEM;
    auto from = resolve_at(old_dirfd, old_path, flags & AT_EMPTY_PATH, names.scratch, 0);
    if (from.is_error())
        return error(from.error());
    if (auto r = name_at(new_dirfd, new_path, names, 3); r.is_error())
        return error(r.error());
    const StringView old_name(from.value().absolute, strlen(from.value().absolute));
    return result_of(vfs::link(old_name, names.path, flags & AT_SYMLINK_FOLLOW));
}

long sys_link(u64 old_path, u64 new_path, u64, u64, u64, u64) { return link_at(AT_FDCWD, old_path, AT_FDCWD, new_path, 0); }
long sys_linkat(u64 old_dirfd, u64 old_path, u64 new_dirfd, u64 new_path, u64 flags, u64)
{
    return link_at(static_cast<int>(old_dirfd), old_path, static_cast<int>(new_dirfd), new_path, flags);
}

// fchdir: the working directory becomes the directory `fd` names (an
// O_PATH descriptor will do); ENOTDIR for anything else.
long sys_fchdir(u64 fd, u64, u64, u64, u64, u64)
{
    FdRef file(static_cast<int>(fd), true);
    if (!file)
        return -EBADF;
    if (!file->inode->is_directory())
        return -ENOTDIR;
    PathScratch scratch(1);
    if (!scratch.ok())
        return -ENOMEM;
    auto length = vfs::path_of(file->path, scratch.slot(0), proc::PATH_CAPACITY);
    if (length.is_error())
        return error(length.error());
    proc::current_process()->fs->state.with([&](proc::FsContext::State& state) {
        memcpy(state.cwd, scratch.slot(0), length.value() + 1);
    });
    return 0;
}

} // namespace

void register_directory_syscalls()
{
    register_syscall(__NR_mkdir, "mkdir", sys_mkdir);
    register_syscall(__NR_mkdirat, "mkdirat", sys_mkdirat);
    register_syscall(__NR_rmdir, "rmdir", sys_rmdir);
    register_syscall(__NR_unlink, "unlink", sys_unlink);
    register_syscall(__NR_unlinkat, "unlinkat", sys_unlinkat);
    register_syscall(__NR_rename, "rename", sys_rename);
    register_syscall(__NR_renameat, "renameat", sys_renameat);
    register_syscall(__NR_renameat2, "renameat2", sys_renameat2);
    register_syscall(__NR_link, "link", sys_link);
    register_syscall(__NR_linkat, "linkat", sys_linkat);
    register_syscall(__NR_symlink, "symlink", sys_symlink);
    register_syscall(__NR_symlinkat, "symlinkat", sys_symlinkat);
    register_syscall(__NR_readlink, "readlink", sys_readlink);
    register_syscall(__NR_readlinkat, "readlinkat", sys_readlinkat);
    register_syscall(__NR_fchdir, "fchdir", sys_fchdir);
    register_syscall(__NR_getdents64, "getdents64", sys_getdents64);
    register_syscall(__NR_getdents, "getdents", sys_getdents);
}

} // namespace sys
