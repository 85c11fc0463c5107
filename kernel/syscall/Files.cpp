// File syscalls on open descriptors: open/openat/openat2/creat, close and
// close_range, the read and write family (read, write, pread64, pwrite64,
// readv, writev, preadv, pwritev, preadv2, pwritev2), lseek, dup/dup2/dup3,
// fcntl and ioctl.
//
// Data moves straight between the file and user memory (mm::IoIter over the
// caller's buffers): a fault part-way returns the bytes moved, EFAULT when
// nothing moved, as Linux. O_DIRECT transfers go through a kernel bounce
// buffer, so the device never DMAs into user pages (nothing to pin); the
// caller's buffer must still be aligned as Linux requires. Character devices
// (the console, /dev/null, ...) also take the bounce buffer, which gives a
// tty's all-or-nothing chunk copies.
#include "arch/x86_64/mm/UserCopy.h"
#include "fs/pagecache/DirectIo.h"
#include "fs/pagecache/PageCache.h"
#include "fs/pipe/Pipe.h"
#include "kernel/lib/String.h"
#include "kernel/mm/Heap.h"
#include "kernel/proc/Current.h"
#include "kernel/proc/Signals.h"
#include "kernel/syscall/FileArgs.h"
#include "kernel/syscall/Table.h"
#include "uapi/errno.h"
#include "uapi/fcntl.h"
#include "uapi/openat2.h"
#include "uapi/rwf.h"
#include "uapi/unistd_64.h"

namespace sys {
namespace {

constexpr usize BOUNCE_SIZE = 64 * KiB;
// Linux: UIO_MAXIOV; a count above it is EINVAL.
constexpr u64 IOV_MAX = 1024;
// Linux caps one read/write at MAX_RW_COUNT (INT_MAX rounded down to a page).
constexpr u64 MAX_RW_COUNT = 0x7ffff000;
constexpr u32 TIOCGWINSZ = 0x5413;
constexpr u32 CONSOLE_MAJOR = 5;
constexpr u32 CONSOLE_MINOR = 1;

// open(2) flags Linux knows (VALID_OPEN_FLAGS); openat2 refuses others.
constexpr u64 VALID_OPEN_FLAGS = O_RDONLY | O_WRONLY | O_RDWR | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND
    | O_NONBLOCK | O_DSYNC | FASYNC | O_DIRECT | O_LARGEFILE | O_DIRECTORY | O_NOFOLLOW | O_NOATIME | O_CLOEXEC
    | O_SYNC | O_PATH | O_TMPFILE;
// What O_PATH keeps (Linux's O_PATH_FLAGS).
constexpr u32 O_PATH_FLAGS = O_DIRECTORY | O_NOFOLLOW | O_PATH | O_CLOEXEC;
// The status flags F_SETFL may change (Linux's SETFL_MASK).
constexpr u32 SETFL_MASK = O_APPEND | O_NONBLOCK | FASYNC | O_DIRECT | O_NOATIME;
// Creation flags are not kept in the open file (Linux's do_dentry_open).
constexpr u32 NOT_KEPT = O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC;

constexpr u32 CLOSE_RANGE_UNSHARE = 1u << 1;
constexpr u32 CLOSE_RANGE_CLOEXEC = 1u << 2;

vfs::FdTable& fd_table() { return proc::current_process()->files->table; }

u32 current_umask()
{
    return proc::current_process()->fs->state.with([](const proc::FsContext::State& s) { return s.umask; });
}

u32 access_mode(const vfs::File& file) { return file.flags & O_ACCMODE; }

// Linux's new_decode_dev (include/linux/kdev_t.h).
u32 device_major(u64 dev) { return static_cast<u32>((dev >> 8) & 0xfff); }
u32 device_minor(u64 dev) { return static_cast<u32>((dev & 0xff) | ((dev >> 12) & 0xfff00)); }

bool is_console(const vfs::File& file)
{
    const vfs::Inode& inode = *file.inode;
    return (inode.mode & S_IFMT) == S_IFCHR && device_major(inode.rdev) == CONSOLE_MAJOR
        && device_minor(inode.rdev) == CONSOLE_MINOR;
}

// Files without a position: positioned I/O and lseek are ESPIPE.
bool unseekable(const vfs::File& file)
{
    const u32 type = file.inode->mode & S_IFMT;
    return type == S_IFIFO || type == S_IFSOCK || is_console(file);
}

// --- open -------------------------------------------------------------------------

long open_at(int dirfd, u64 user_path, u64 flags, u64 mode, bool strict)
{
    if (flags & __O_TMPFILE) {
        // Linux: O_TMPFILE needs O_DIRECTORY and write access (EINVAL), then
        // a filesystem that makes unnamed files; none here does.
        if ((flags & O_TMPFILE) != O_TMPFILE || (flags & O_ACCMODE) == O_RDONLY || (flags & O_CREAT))
            return -EINVAL;
        return -EOPNOTSUPP;
    }
    // Linux 6.4 and later: O_CREAT|O_DIRECTORY is EINVAL.
    if ((flags & O_CREAT) && (flags & O_DIRECTORY))
        return -EINVAL;
    if (strict && (flags & O_PATH) && (flags & ~static_cast<u64>(O_PATH_FLAGS)))
        return -EINVAL;
    u32 open_flags = static_cast<u32>(flags & VALID_OPEN_FLAGS);
    // Every open on a 64-bit kernel is O_LARGEFILE (force_o_largefile),
    // except O_PATH, which keeps only O_PATH_FLAGS.
    if (open_flags & O_PATH)
        open_flags &= O_PATH_FLAGS;
    else
        open_flags |= O_LARGEFILE;
    PathScratch scratch;
    if (!scratch.ok())
        return -ENOMEM;
    auto at = resolve_at(dirfd, user_path, false, scratch);
    if (at.is_error())
        return error(at.error());
    const u32 create_mode = (open_flags & O_CREAT) ? static_cast<u32>(mode) & 07777 & ~current_umask() : 0;
    auto file = vfs::open(StringView(at.value().absolute, strlen(at.value().absolute)), open_flags, create_mode);
    if (file.is_error())
        return error(file.error());
    file.value()->flags &= ~NOT_KEPT;
    auto fd = fd_table().install(file.value(), (open_flags & O_CLOEXEC) ? FD_CLOEXEC : 0u);
    if (fd.is_error()) {
        (void)vfs::close(file.value());
        return error(fd.error());
    }
    return fd.value();
}

long sys_open(u64 path, u64 flags, u64 mode, u64, u64, u64)
{
    return open_at(AT_FDCWD, path, flags, mode, false);
}

long sys_openat(u64 dirfd, u64 path, u64 flags, u64 mode, u64, u64)
{
    return open_at(static_cast<int>(dirfd), path, flags, mode, false);
}

long sys_creat(u64 path, u64 mode, u64, u64, u64, u64)
{
    return open_at(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode, false);
}

// openat2: the open_how struct is versioned by size (copy_struct_from_user):
// smaller than the first version is EINVAL, bytes past what the kernel
// knows must be zero (E2BIG). Unknown flags, a mode without O_CREAT, and
// unknown resolve bits are EINVAL. Of the RESOLVE_* restrictions only
// RESOLVE_NO_MAGICLINKS (there are no magic links) and RESOLVE_CACHED (a full
// lookup is allowed to succeed) are honoured; the others are EINVAL.
long sys_openat2(u64 dirfd, u64 path, u64 user_how, u64 size, u64, u64)
{
    constexpr u64 OPEN_HOW_SIZE_VER0 = 24;
    if (size < OPEN_HOW_SIZE_VER0)
        return -EINVAL;
    if (size > PAGE_SIZE)
        return -E2BIG;
    uapi::open_how how;
    if (user::copy_from_user(&how, reinterpret_cast<const void*>(user_how), sizeof how).is_error())
        return -EFAULT;
    for (u64 at = sizeof how; at < size; at++) {
        auto byte = user::get_user(reinterpret_cast<const u8*>(user_how + at));
        if (byte.is_error())
            return -EFAULT;
        if (byte.value())
            return -E2BIG;
    }
    if (how.flags & ~VALID_OPEN_FLAGS)
        return -EINVAL;
    if (how.resolve & ~static_cast<u64>(RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS
                                       | RESOLVE_BENEATH | RESOLVE_IN_ROOT | RESOLVE_CACHED))
        return -EINVAL;
    if ((how.resolve & RESOLVE_BENEATH) && (how.resolve & RESOLVE_IN_ROOT))
        return -EINVAL;
    if ((how.flags & (O_CREAT | __O_TMPFILE)) ? (how.mode & ~07777ul) : how.mode)
        return -EINVAL;
    if ((how.resolve & RESOLVE_CACHED) && (how.flags & (O_TRUNC | O_CREAT | __O_TMPFILE)))
        return -EAGAIN;
    if (how.resolve & (RESOLVE_NO_XDEV | RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH | RESOLVE_IN_ROOT))
        return -EINVAL;
    return open_at(static_cast<int>(dirfd), path, how.flags, how.mode, true);
}

// pipe2(fds, flags): O_CLOEXEC, O_NONBLOCK; O_DIRECT (packet mode) and
// anything else EINVAL. The two descriptors are the lowest free ones.
long sys_pipe2(u64 user_fds, u64 flags, u64, u64, u64, u64)
{
    if (flags & ~static_cast<u64>(O_CLOEXEC | O_NONBLOCK))
        return -EINVAL;
    auto ends = pipe::create(static_cast<u32>(flags & O_NONBLOCK));
    if (ends.is_error())
        return error(ends.error());
    const u32 fd_flags = (flags & O_CLOEXEC) ? FD_CLOEXEC : 0u;
    auto read_fd = fd_table().install(ends.value().read, fd_flags);
    if (read_fd.is_error()) {
        (void)vfs::close(ends.value().read);
        (void)vfs::close(ends.value().write);
        return error(read_fd.error());
    }
    auto write_fd = fd_table().install(ends.value().write, fd_flags);
    if (write_fd.is_error()) {
        (void)fd_table().close(read_fd.value());
        (void)vfs::close(ends.value().write);
        return error(write_fd.error());
    }
    const int fds[2] = { read_fd.value(), write_fd.value() };
    if (user::copy_to_user(reinterpret_cast<void*>(user_fds), fds, sizeof fds).is_error()) {
        (void)fd_table().close(fds[0]);
        (void)fd_table().close(fds[1]);
        return -EFAULT;
    }
    return 0;
}

// A write to a pipe without readers: SIGPIPE to the writing thread (Linux's
// send_sig(SIGPIPE, current, 0)), then EPIPE.
void send_sigpipe()
{
    proc::Task* task = proc::current_task();
    (void)proc::kill_thread(task->process->pid, task->tid, SIGPIPE);
}

long sys_pipe(u64 user_fds, u64, u64, u64, u64, u64) { return sys_pipe2(user_fds, 0, 0, 0, 0, 0); }

long sys_close(u64 fd, u64, u64, u64, u64, u64)
{
    auto closed = fd_table().close(static_cast<int>(fd));
    return closed.is_error() ? error(closed.error()) : 0;
}

// close_range(first, last, flags): every open descriptor in [first, last];
// CLOSE_RANGE_CLOEXEC marks them close-on-exec instead; CLOSE_RANGE_UNSHARE
// first gives the caller a table of its own when threads share it.
long sys_close_range(u64 first, u64 last, u64 flags, u64, u64, u64)
{
    if (flags & ~static_cast<u64>(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC))
        return -EINVAL;
    const u32 low = static_cast<u32>(first);
    const u32 high = static_cast<u32>(last);
    if (low > high)
        return -EINVAL;
    proc::Process* process = proc::current_process();
    // A private copy even when nobody shares the table: the same result.
    if (flags & CLOSE_RANGE_UNSHARE) {
        auto copy = process->files->duplicate();
        if (copy.is_error())
            return error(copy.error());
        proc::FileTable* old = process->files;
        process->files = copy.value();
        old->unref();
    }
    const u32 end = min<u32>(high, vfs::FdTable::MAX_FDS - 1);
    for (u32 fd = low; fd <= end && fd < static_cast<u32>(vfs::FdTable::MAX_FDS); fd++) {
        if (flags & CLOSE_RANGE_CLOEXEC)
            (void)process->files->table.set_fd_flags(static_cast<int>(fd), FD_CLOEXEC);
        else
            (void)process->files->table.close(static_cast<int>(fd));
    }
    return 0;
}

// --- read and write ------------------------------------------------------------------

// One call of the read/write family: the caller's segments (already checked
// with access_ok and capped at MAX_RW_COUNT), at `offset` or, when it is -1,
// at the file position (which then moves).
struct Transfer {
    bool write;
    i64 offset; // -1: the file position
    u32 rwf;    // RWF_*
};

class Bounce {
public:
    Bounce() : m_data(kmalloc(BOUNCE_SIZE)) { }
    ~Bounce() { kfree(m_data); }
    Bounce(const Bounce&) = delete;
    Bounce& operator=(const Bounce&) = delete;
    void* data() const { return m_data; }

private:
    void* m_data;
};

// Through a kernel bounce buffer, a chunk at a time; user memory is reached
// only by copy_{from,to}_user, and a chunk that cannot be copied in whole
// is not written (a tty's write on Linux: EFAULT, or the bytes before it).
// For O_DIRECT (the device never sees user pages) and character devices.
Result<usize> bounce_transfer(vfs::File& file, const mm::IoSegment* segments, usize count, Transfer t)
{
    Bounce bounce;
    if (!bounce.data())
        return Error::from_errno(ENOMEM);
    usize done = 0;
    u64 offset = t.offset < 0 ? 0 : static_cast<u64>(t.offset);
    for (usize i = 0; i < count; i++) {
        auto* user_base = static_cast<u8*>(segments[i].base);
        usize at = 0;
        while (at < segments[i].length) {
            const usize chunk = min(segments[i].length - at, BOUNCE_SIZE);
            bool faulted = false;
            auto moved = [&]() -> Result<usize> {
                if (t.write) {
                    if (user::copy_from_user(bounce.data(), user_base + at, chunk).is_error()) {
                        faulted = true;
                        return Error::from_errno(EFAULT);
                    }
                    return t.offset < 0 ? vfs::write(file, bounce.data(), chunk)
                                        : vfs::pwrite(file, bounce.data(), chunk, offset + done);
                }
                const usize got = TRY(t.offset < 0 ? vfs::read(file, bounce.data(), chunk)
                                                   : vfs::pread(file, bounce.data(), chunk, offset + done));
                if (got && user::copy_to_user(user_base + at, bounce.data(), got).is_error())
                    return Error::from_errno(EFAULT);
                return got;
            }();
            (void)faulted;
            if (moved.is_error())
                return done ? Result<usize>(done) : Result<usize>(moved.error());
            done += moved.value();
            at += moved.value();
            if (moved.value() < chunk)
                return done;
        }
    }
    return done;
}

long transfer(vfs::File& file, const mm::IoSegment* segments, usize count, usize total, Transfer t)
{
    if (access_mode(file) == (t.write ? O_RDONLY : O_WRONLY) || access_mode(file) == 3)
        return -EBADF;
    if (t.offset != -1 && unseekable(file))
        return -ESPIPE;
    if (t.offset < -1)
        return -EINVAL;
    if (t.rwf & ~static_cast<u32>(RWF_SUPPORTED))
        return -EOPNOTSUPP;
    if (total == 0)
        return 0;
    mm::IoIter iter = mm::IoIter::user_vector(segments, count, total);
    auto moved = [&]() -> Result<usize> {
        if (file.flags & O_DIRECT) {
            const u64 position = t.offset < 0 ? file.position : static_cast<u64>(t.offset);
            if (file.inode->mapping && !pagecache::direct_io_aligned(*file.inode->mapping, position, iter))
                return Error::from_errno(EINVAL);
            if ((t.rwf & RWF_NOWAIT) && !t.write)
                return Error::from_errno(EAGAIN); // a direct read always waits for the device
            return bounce_transfer(file, segments, count, t);
        }
        if ((file.inode->mode & S_IFMT) == S_IFCHR)
            return bounce_transfer(file, segments, count, t);
        if (t.write) {
            if (t.rwf & RWF_APPEND)
                return vfs::pwrite(file, iter, file.inode->size); // at the end; the position stays
            return t.offset < 0 ? vfs::write(file, iter) : vfs::pwrite(file, iter, static_cast<u64>(t.offset));
        }
        const u32 read_flags = (t.rwf & RWF_NOWAIT) ? u32(pagecache::READ_NOWAIT) : 0u;
        if (t.offset >= 0)
            return vfs::pread(file, iter, static_cast<u64>(t.offset), read_flags);
        if (!read_flags)
            return vfs::read(file, iter);
        const usize got = TRY(vfs::pread(file, iter, file.position, read_flags));
        file.position += got;
        return got;
    }();
    if (moved.is_error())
        return error(moved.error());
    if (t.write && moved.value() && (t.rwf & (RWF_DSYNC | RWF_SYNC))) {
        auto synced = (t.rwf & RWF_SYNC) ? vfs::fsync(file) : vfs::fdatasync(file);
        if (synced.is_error())
            return error(synced.error());
    }
    return static_cast<long>(moved.value());
}

long single(u64 fd, u64 buffer, u64 count, Transfer t)
{
    FdRef file(static_cast<int>(fd));
    if (!file)
        return -EBADF;
    count = min(count, MAX_RW_COUNT);
    if (count && !user::access_ok(buffer, count))
        return -EFAULT;
    mm::IoSegment segment{ reinterpret_cast<void*>(buffer), count };
    return transfer(*file, &segment, 1, count, t);
}

long sys_read(u64 fd, u64 buffer, u64 count, u64, u64, u64) { return single(fd, buffer, count, { false, -1, 0 }); }
long sys_write(u64 fd, u64 buffer, u64 count, u64, u64, u64) { return single(fd, buffer, count, { true, -1, 0 }); }

// A negative offset is EINVAL before the descriptor is looked at (Linux's
// ksys_pread64).
long sys_pread64(u64 fd, u64 buffer, u64 count, u64 offset, u64, u64)
{
    if (static_cast<i64>(offset) < 0)
        return -EINVAL;
    return single(fd, buffer, count, { false, static_cast<i64>(offset), 0 });
}

long sys_pwrite64(u64 fd, u64 buffer, u64 count, u64 offset, u64, u64)
{
    if (static_cast<i64>(offset) < 0)
        return -EINVAL;
    return single(fd, buffer, count, { true, static_cast<i64>(offset), 0 });
}

// The iovec array: EINVAL for more than IOV_MAX entries or a length that is
// negative as ssize_t, EFAULT for an unreadable array or a segment outside
// user space; the total is capped at MAX_RW_COUNT by shortening segments.
long vector(u64 fd, u64 user_iov, u64 count, Transfer t)
{
    FdRef file(static_cast<int>(fd));
    if (!file)
        return -EBADF;
    if (count > IOV_MAX)
        return -EINVAL;
    if (count == 0)
        return transfer(*file, nullptr, 0, 0, t);
    auto* segments = static_cast<mm::IoSegment*>(kmalloc(count * sizeof(mm::IoSegment)));
    if (!segments)
        return -ENOMEM;
    struct Free {
        void* p;
        ~Free() { kfree(p); }
    } free_segments{ segments };
    if (user::copy_from_user(segments, reinterpret_cast<const void*>(user_iov), count * sizeof(mm::IoSegment))
            .is_error())
        return -EFAULT;
    usize total = 0;
    for (u64 i = 0; i < count; i++) {
        if (static_cast<i64>(segments[i].length) < 0)
            return -EINVAL;
        if (!user::access_ok(reinterpret_cast<uptr>(segments[i].base), segments[i].length))
            return -EFAULT;
        if (segments[i].length > MAX_RW_COUNT - total)
            segments[i].length = MAX_RW_COUNT - total;
        total += segments[i].length;
    }
    return transfer(*file, segments, count, total, t);
}

long sys_readv(u64 fd, u64 iov, u64 count, u64, u64, u64) { return vector(fd, iov, count, { false, -1, 0 }); }
long sys_writev(u64 fd, u64 iov, u64 count, u64, u64, u64) { return vector(fd, iov, count, { true, -1, 0 }); }

// preadv/pwritev split the offset in two registers (low, high) on every ABI.
i64 joined_offset(u64 low, u64 high) { return static_cast<i64>((high << 32 << 32) | low); }

long positioned_vector(u64 fd, u64 iov, u64 count, i64 offset, Transfer t, bool minus_one_is_position)
{
    if (offset == -1 && minus_one_is_position) {
        t.offset = -1;
        return vector(fd, iov, count, t);
    }
    if (offset < 0)
        return -EINVAL; // before the descriptor, as Linux's do_preadv
    t.offset = offset;
    return vector(fd, iov, count, t);
}

long sys_preadv(u64 fd, u64 iov, u64 count, u64 low, u64 high, u64)
{
    return positioned_vector(fd, iov, count, joined_offset(low, high), { false, 0, 0 }, false);
}

long sys_pwritev(u64 fd, u64 iov, u64 count, u64 low, u64 high, u64)
{
    return positioned_vector(fd, iov, count, joined_offset(low, high), { true, 0, 0 }, false);
}

long sys_preadv2(u64 fd, u64 iov, u64 count, u64 low, u64 high, u64 flags)
{
    return positioned_vector(fd, iov, count, joined_offset(low, high), { false, 0, static_cast<u32>(flags) }, true);
}

long sys_pwritev2(u64 fd, u64 iov, u64 count, u64 low, u64 high, u64 flags)
{
    return positioned_vector(fd, iov, count, joined_offset(low, high), { true, 0, static_cast<u32>(flags) }, true);
}

long sys_lseek(u64 fd, u64 offset, u64 whence, u64, u64, u64)
{
    FdRef file(static_cast<int>(fd));
    if (!file)
        return -EBADF;
    if (unseekable(*file))
        return -ESPIPE;
    if (whence > SEEK_HOLE)
        return -EINVAL;
    auto position = vfs::lseek(*file, static_cast<i64>(offset), static_cast<int>(whence));
    return position.is_error() ? error(position.error()) : static_cast<long>(position.value());
}

// --- descriptors ------------------------------------------------------------------

long sys_dup(u64 fd, u64, u64, u64, u64, u64)
{
    auto got = fd_table().dup(static_cast<int>(fd));
    return got.is_error() ? error(got.error()) : got.value();
}

long sys_dup2(u64 old_fd, u64 new_fd, u64, u64, u64, u64)
{
    auto got = fd_table().dup2(static_cast<int>(old_fd), static_cast<int>(new_fd));
    return got.is_error() ? error(got.error()) : got.value();
}

long sys_dup3(u64 old_fd, u64 new_fd, u64 flags, u64, u64, u64)
{
    auto got = fd_table().dup3(static_cast<int>(old_fd), static_cast<int>(new_fd), static_cast<u32>(flags));
    return got.is_error() ? error(got.error()) : got.value();
}

long set_status_flags(vfs::File& file, u32 requested)
{
    if ((requested & O_DIRECT) && !file.inode->supports_direct_io())
        return -EINVAL;
    // Appending is not switched off on an append-only inode on Linux; no
    // such inodes here. The access mode and creation flags stay.
    // Not under the position lock: a read blocked on a tty holds that.
    // Changes are serialised here; readers see the old or the new word.
    static Mutex status_flags_lock{ LockRank::MutexGeneric, "file status flags" };
    MutexGuard guard(status_flags_lock);
    file.flags = (file.flags & ~SETFL_MASK) | (requested & SETFL_MASK);
    return 0;
}

// Record locks (F_GETLK, F_SETLK, F_SETLKW and the OFD forms): the struct
// flock is checked as Linux checks it (EFAULT, EINVAL for a bad l_type or
// l_whence, EBADF for a lock the access mode does not allow) and the lock is
// granted; locks are not recorded, so F_GETLK always answers F_UNLCK.
struct Flock {
    i16 type;
    i16 whence;
    i64 start;
    i64 length;
    i32 pid;
};

long record_lock(vfs::File& file, u32 command, u64 user_lock)
{
    Flock lock;
    if (user::copy_from_user(&lock, reinterpret_cast<const void*>(user_lock), sizeof lock).is_error())
        return -EFAULT;
    const bool ofd = command == F_OFD_GETLK || command == F_OFD_SETLK || command == F_OFD_SETLKW;
    if (ofd && lock.pid != 0)
        return -EINVAL;
    if (lock.type != F_RDLCK && lock.type != F_WRLCK && lock.type != F_UNLCK)
        return -EINVAL;
    if (lock.whence != SEEK_SET && lock.whence != SEEK_CUR && lock.whence != SEEK_END)
        return -EINVAL;
    if (command == F_GETLK || command == F_OFD_GETLK) {
        lock.type = F_UNLCK;
        return user::copy_to_user(reinterpret_cast<void*>(user_lock), &lock, sizeof lock).is_error() ? -EFAULT : 0;
    }
    if (lock.type == F_RDLCK && access_mode(file) == O_WRONLY)
        return -EBADF;
    if (lock.type == F_WRLCK && access_mode(file) == O_RDONLY)
        return -EBADF;
    return 0;
}

long sys_fcntl(u64 fd, u64 command, u64 argument, u64, u64, u64)
{
    const int descriptor = static_cast<int>(fd);
    FdRef file(descriptor, true);
    if (!file)
        return -EBADF;
    const bool path_only = file->flags & O_PATH;
    switch (static_cast<u32>(command)) {
    case F_DUPFD:
    case F_DUPFD_CLOEXEC: {
        if (argument >= static_cast<u64>(vfs::FdTable::MAX_FDS))
            return -EINVAL;
        const u32 fd_flags = command == F_DUPFD_CLOEXEC ? FD_CLOEXEC : 0u;
        auto got = fd_table().install_from(vfs::file_get(*file), static_cast<int>(argument), fd_flags);
        if (got.is_error()) {
            (void)vfs::close(file.get());
            return error(got.error());
        }
        return got.value();
    }
    case F_GETFD: {
        auto flags = fd_table().fd_flags(descriptor);
        return flags.is_error() ? error(flags.error()) : static_cast<long>(flags.value());
    }
    case F_SETFD: {
        auto set = fd_table().set_fd_flags(descriptor, static_cast<u32>(argument) & FD_CLOEXEC);
        return set.is_error() ? error(set.error()) : 0;
    }
    case F_GETFL:
        return static_cast<long>(file->flags);
    case F_SETFL:
        if (path_only)
            return -EBADF;
        return set_status_flags(*file, static_cast<u32>(argument));
    case F_GETLK:
    case F_SETLK:
    case F_SETLKW:
    case F_OFD_GETLK:
    case F_OFD_SETLK:
    case F_OFD_SETLKW:
        if (path_only)
            return -EBADF;
        return record_lock(*file, static_cast<u32>(command), argument);
    case F_GETOWN:
    case F_GETSIG:
        return 0;
    case F_SETOWN:
    case F_SETSIG:
        return path_only ? -EBADF : 0;
    case F_GETPIPE_SZ:
    case F_SETPIPE_SZ:
        // The capacity is fixed: F_SETPIPE_SZ up to it answers it, above it EPERM
        // (as beyond /proc/sys/fs/pipe-max-size without CAP_SYS_RESOURCE).
        if ((file->inode->mode & S_IFMT) != S_IFIFO)
            return -EBADF;
        if (command == F_SETPIPE_SZ && argument > pipe::CAPACITY)
            return -EPERM;
        return static_cast<long>(pipe::CAPACITY);
    case F_GET_SEALS:
    case F_ADD_SEALS:
        return -EINVAL; // not a memfd
    default:
        return -EINVAL;
    }
}

long sys_ioctl(u64 fd, u64 request, u64 argument, u64, u64, u64)
{
    FdRef file(static_cast<int>(fd));
    if (!file)
        return -EBADF;
    u32 command = static_cast<u32>(request);
    // The serial console is a tty whose window size nobody set: Linux
    // answers TIOCGWINSZ with rows = cols = 0.
    if (command == TIOCGWINSZ && is_console(*file)) {
        u16 winsize[4] = { 0, 0, 0, 0 };
        auto copied = user::copy_to_user(reinterpret_cast<void*>(argument), winsize, sizeof winsize);
        return copied.is_error() ? -EFAULT : 0;
    }
    // Inode::ioctl implementations receive `argument` as a user pointer and
    // must reach it through copy_from_user/copy_to_user.
    auto result = vfs::ioctl(*file, command, argument);
    return result.is_error() ? error(result.error()) : result.value();
}

} // namespace

void register_file_syscalls()
{
    pipe::set_broken_pipe_hook(send_sigpipe);
    register_syscall(__NR_open, "open", sys_open);
    register_syscall(__NR_openat, "openat", sys_openat);
    register_syscall(__NR_openat2, "openat2", sys_openat2);
    register_syscall(__NR_creat, "creat", sys_creat);
    register_syscall(__NR_close, "close", sys_close);
    register_syscall(__NR_pipe, "pipe", sys_pipe);
    register_syscall(__NR_pipe2, "pipe2", sys_pipe2);
    register_syscall(__NR_close_range, "close_range", sys_close_range);
    register_syscall(__NR_read, "read", sys_read);
    register_syscall(__NR_write, "write", sys_write);
    register_syscall(__NR_pread64, "pread64", sys_pread64);
    register_syscall(__NR_pwrite64, "pwrite64", sys_pwrite64);
    register_syscall(__NR_readv, "readv", sys_readv);
    register_syscall(__NR_writev, "writev", sys_writev);
    register_syscall(__NR_preadv, "preadv", sys_preadv);
    register_syscall(__NR_pwritev, "pwritev", sys_pwritev);
    register_syscall(__NR_preadv2, "preadv2", sys_preadv2);
    register_syscall(__NR_pwritev2, "pwritev2", sys_pwritev2);
    register_syscall(__NR_lseek, "lseek", sys_lseek);
    register_syscall(__NR_dup, "dup", sys_dup);
    register_syscall(__NR_dup2, "dup2", sys_dup2);
    register_syscall(__NR_dup3, "dup3", sys_dup3);
    register_syscall(__NR_fcntl, "fcntl", sys_fcntl);
    register_syscall(__NR_ioctl, "ioctl", sys_ioctl);
}

} // namespace sys
