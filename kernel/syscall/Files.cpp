// File syscalls on the calling process's descriptor table: the first set
// (read, write, readv, writev, close, ioctl), which the VFS syscall family
// grows from. Data moves through a kernel bounce buffer with
// copy_from_user/copy_to_user until the VFS takes user buffers directly.
#include "arch/x86_64/mm/UserCopy.h"
#include "fs/vfs/FileApi.h"
#include "kernel/mm/Heap.h"
#include "kernel/proc/Current.h"
#include "kernel/syscall/Table.h"
#include "uapi/errno.h"
#include "uapi/fcntl.h"
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

struct IoVec {
    u64 base;
    u64 length;
};

long error(const Error& e) { return -static_cast<long>(e.code()); }

// The File behind `fd` for the duration of a syscall.
class FdRef {
public:
    explicit FdRef(int fd)
    {
        proc::Process* process = proc::current_process();
        auto got = process->files->table.get(fd);
        if (!got.is_error())
            m_file = got.value();
    }
    ~FdRef()
    {
        if (m_file)
            (void)vfs::close(m_file);
    }
    FdRef(const FdRef&) = delete;
    FdRef& operator=(const FdRef&) = delete;
    vfs::File* get() const { return m_file; }

private:
    vfs::File* m_file = nullptr;
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

u32 access_mode(const vfs::File& file) { return file.flags & O_ACCMODE; }

// Write user bytes to `file`, a bounce buffer at a time. A fault or error
// after some bytes went out returns those bytes (as Linux does).
long write_user(vfs::File& file, const u8* user_buffer, u64 length, Bounce& bounce)
{
    u64 done = 0;
    while (done < length) {
        usize chunk = min(length - done, u64(BOUNCE_SIZE));
        if (auto copied = user::copy_from_user(bounce.data(), user_buffer + done, chunk); copied.is_error())
            return done ? static_cast<long>(done) : error(copied.error());
        auto written = vfs::write(file, bounce.data(), chunk);
        if (written.is_error())
            return done ? static_cast<long>(done) : error(written.error());
        done += written.value();
        if (written.value() < chunk)
            break;
    }
    return static_cast<long>(done);
}

long read_user(vfs::File& file, u8* user_buffer, u64 length, Bounce& bounce)
{
    u64 done = 0;
    while (done < length) {
        usize chunk = min(length - done, u64(BOUNCE_SIZE));
        auto got = vfs::read(file, bounce.data(), chunk);
        if (got.is_error())
            return done ? static_cast<long>(done) : error(got.error());
        if (got.value() == 0)
            break;
        if (auto copied = user::copy_to_user(user_buffer + done, bounce.data(), got.value()); copied.is_error())
            return done ? static_cast<long>(done) : error(copied.error());
        done += got.value();
        if (got.value() < chunk)
            break;
    }
    return static_cast<long>(done);
}

long sys_read(u64 fd, u64 buffer, u64 count, u64, u64, u64)
{
    FdRef file(static_cast<int>(fd));
    if (!file.get() || access_mode(*file.get()) == O_WRONLY)
        return -EBADF;
    if (count == 0)
        return 0;
    count = min(count, MAX_RW_COUNT);
    if (!user::access_ok(buffer, count))
        return -EFAULT;
    Bounce bounce;
    if (!bounce.data())
        return -ENOMEM;
    return read_user(*file.get(), reinterpret_cast<u8*>(buffer), count, bounce);
}

long sys_write(u64 fd, u64 buffer, u64 count, u64, u64, u64)
{
    FdRef file(static_cast<int>(fd));
    if (!file.get() || access_mode(*file.get()) == O_RDONLY)
        return -EBADF;
    if (count == 0)
        return 0;
    count = min(count, MAX_RW_COUNT);
    if (!user::access_ok(buffer, count))
        return -EFAULT;
    Bounce bounce;
    if (!bounce.data())
        return -ENOMEM;
    return write_user(*file.get(), reinterpret_cast<const u8*>(buffer), count, bounce);
}

// readv/writev: the iovec array is read first (EFAULT, EINVAL for a count
// above IOV_MAX or lengths whose sum overflows ssize_t), then each segment
// in order; a short transfer ends the call.
template <bool Write>
long vector_io(u64 fd, u64 user_iov, u64 count)
{
    FdRef file(static_cast<int>(fd));
    if (!file.get() || access_mode(*file.get()) == (Write ? O_RDONLY : O_WRONLY))
        return -EBADF;
    if (count > IOV_MAX)
        return -EINVAL;
    if (count == 0)
        return 0;
    auto* vectors = static_cast<IoVec*>(kmalloc(count * sizeof(IoVec)));
    if (!vectors)
        return -ENOMEM;
    struct Free {
        void* p;
        ~Free() { kfree(p); }
    } free_vectors{vectors};
    if (auto copied = user::copy_from_user(vectors, reinterpret_cast<const void*>(user_iov), count * sizeof(IoVec));
        copied.is_error())
        return -EFAULT;
    u64 total = 0;
    for (u64 i = 0; i < count; i++) {
        if (vectors[i].length > static_cast<u64>(INT64_MAX) - total)
            return -EINVAL;
        total += vectors[i].length;
        if (!user::access_ok(vectors[i].base, vectors[i].length))
            return -EFAULT;
    }
    Bounce bounce;
    if (!bounce.data())
        return -ENOMEM;
    long done = 0;
    for (u64 i = 0; i < count; i++) {
        if (vectors[i].length == 0)
            continue;
        long n = Write ? write_user(*file.get(), reinterpret_cast<const u8*>(vectors[i].base), vectors[i].length, bounce)
                       : read_user(*file.get(), reinterpret_cast<u8*>(vectors[i].base), vectors[i].length, bounce);
        if (n < 0)
            return done ? done : n;
        done += n;
        if (static_cast<u64>(n) < vectors[i].length)
            break;
    }
    return done;
}

long sys_readv(u64 fd, u64 iov, u64 count, u64, u64, u64) { return vector_io<false>(fd, iov, count); }
long sys_writev(u64 fd, u64 iov, u64 count, u64, u64, u64) { return vector_io<true>(fd, iov, count); }

long sys_close(u64 fd, u64, u64, u64, u64, u64)
{
    auto closed = proc::current_process()->files->table.close(static_cast<int>(fd));
    return closed.is_error() ? error(closed.error()) : 0;
}

// Linux's new_decode_dev (include/linux/kdev_t.h).
u32 device_major(u64 dev) { return static_cast<u32>((dev >> 8) & 0xfff); }
u32 device_minor(u64 dev) { return static_cast<u32>((dev & 0xff) | ((dev >> 12) & 0xfff00)); }

bool is_console(const vfs::File& file)
{
    const vfs::Inode& inode = *file.inode;
    return (inode.mode & S_IFMT) == S_IFCHR && device_major(inode.rdev) == CONSOLE_MAJOR &&
           device_minor(inode.rdev) == CONSOLE_MINOR;
}

long sys_ioctl(u64 fd, u64 request, u64 argument, u64, u64, u64)
{
    FdRef file(static_cast<int>(fd));
    if (!file.get())
        return -EBADF;
    u32 command = static_cast<u32>(request);
    // The serial console is a tty whose window size nobody set: Linux
    // answers TIOCGWINSZ with rows = cols = 0.
    if (command == TIOCGWINSZ && is_console(*file.get())) {
        u16 winsize[4] = {0, 0, 0, 0};
        auto copied = user::copy_to_user(reinterpret_cast<void*>(argument), winsize, sizeof winsize);
        return copied.is_error() ? -EFAULT : 0;
    }
    // Inode::ioctl implementations receive `argument` as a user pointer and
    // must reach it through copy_from_user/copy_to_user.
    auto result = vfs::ioctl(*file.get(), command, argument);
    return result.is_error() ? error(result.error()) : result.value();
}

} // namespace

void register_file_syscalls()
{
    register_syscall(__NR_read, "read", sys_read);
    register_syscall(__NR_write, "write", sys_write);
    register_syscall(__NR_readv, "readv", sys_readv);
    register_syscall(__NR_writev, "writev", sys_writev);
    register_syscall(__NR_close, "close", sys_close);
    register_syscall(__NR_ioctl, "ioctl", sys_ioctl);
}

} // namespace sys
