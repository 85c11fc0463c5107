// In-kernel copies between descriptors: sendfile and copy_file_range. Data
// goes from the source's page cache through a kernel buffer into the
// destination; it never visits user memory. splice and tee need pipes and
// are not here.
#include "arch/x86_64/mm/UserCopy.h"
#include "kernel/mm/Heap.h"
#include "kernel/syscall/FileArgs.h"
#include "kernel/syscall/Table.h"
#include "uapi/errno.h"
#include "uapi/fcntl.h"
#include "uapi/unistd_64.h"

namespace sys {
namespace {

constexpr usize CHUNK = 64 * KiB;
constexpr u64 MAX_RW_COUNT = 0x7ffff000;

bool readable(const vfs::File& file) { return (file.flags & O_ACCMODE) == O_RDONLY || (file.flags & O_ACCMODE) == O_RDWR; }
bool writable(const vfs::File& file) { return (file.flags & O_ACCMODE) == O_WRONLY || (file.flags & O_ACCMODE) == O_RDWR; }

// Copy up to `count` bytes. `in_offset`/`out_offset` null: the file's
// position (which moves). Stops at the source's end or a short write; an
// error after some bytes moved returns those bytes.
Result<usize> copy_between(vfs::File& in, u64* in_offset, vfs::File& out, u64* out_offset, usize count)
{
    void* buffer = kmalloc(CHUNK);
    if (!buffer)
        return Error::from_errno(ENOMEM);
    struct Free {
        void* p;
        ~Free() { kfree(p); }
    } free_buffer{ buffer };
    usize done = 0;
    while (done < count) {
        const usize chunk = min(count - done, CHUNK);
        auto got = in_offset ? vfs::pread(in, buffer, chunk, *in_offset) : vfs::read(in, buffer, chunk);
        if (got.is_error())
            return done ? Result<usize>(done) : Result<usize>(got.error());
        if (got.value() == 0)
            break;
        auto put = out_offset ? vfs::pwrite(out, buffer, got.value(), *out_offset) : vfs::write(out, buffer, got.value());
        if (put.is_error())
            return done ? Result<usize>(done) : Result<usize>(put.error());
        if (in_offset)
            *in_offset += put.value();
        if (out_offset)
            *out_offset += put.value();
        done += put.value();
        if (put.value() < got.value()) {
            // The destination took less: give the rest back to the source.
            if (!in_offset)
                (void)vfs::lseek(in, -static_cast<i64>(got.value() - put.value()), SEEK_CUR);
            break;
        }
        if (got.value() < chunk)
            break;
    }
    return done;
}

Result<u64> read_offset(u64 user_offset)
{
    auto offset = user::get_user(reinterpret_cast<const i64*>(user_offset));
    if (offset.is_error())
        return Error::from_errno(EFAULT);
    if (offset.value() < 0)
        return Error::from_errno(EINVAL);
    return static_cast<u64>(offset.value());
}

// sendfile(out_fd, in_fd, offset, count): with `offset`, read from *offset
// and store where reading stopped, leaving in_fd's position alone. An
// O_APPEND destination is EINVAL (Linux).
long sys_sendfile(u64 out_fd, u64 in_fd, u64 user_offset, u64 count, u64, u64)
{
    FdRef in(static_cast<int>(in_fd));
    FdRef out(static_cast<int>(out_fd));
    if (!in || !readable(*in) || !out || !writable(*out))
        return -EBADF;
    if (out->flags & O_APPEND)
        return -EINVAL;
    if (in->inode->is_directory())
        return -EINVAL;
    u64 offset = 0;
    if (user_offset) {
        auto got = read_offset(user_offset);
        if (got.is_error())
            return error(got.error());
        offset = got.value();
    }
    auto copied = copy_between(*in, user_offset ? &offset : nullptr, *out, nullptr, min(count, MAX_RW_COUNT));
    if (user_offset && user::put_user(reinterpret_cast<i64*>(user_offset), static_cast<i64>(offset)).is_error())
        return -EFAULT;
    return copied.is_error() ? error(copied.error()) : static_cast<long>(copied.value());
}

// copy_file_range(fd_in, off_in, fd_out, off_out, len, flags): regular
// files only (EISDIR for directories, EINVAL for others), no flags, an
// O_APPEND destination EBADF, overlapping ranges of one file EINVAL.
long sys_copy_file_range(u64 in_fd, u64 user_in_offset, u64 out_fd, u64 user_out_offset, u64 length, u64 flags)
{
    if (flags)
        return -EINVAL;
    FdRef in(static_cast<int>(in_fd));
    FdRef out(static_cast<int>(out_fd));
    if (!in || !readable(*in) || !out || !writable(*out))
        return -EBADF;
    if (out->flags & O_APPEND)
        return -EBADF;
    if (in->inode->is_directory() || out->inode->is_directory())
        return -EISDIR;
    if (!in->inode->is_regular() || !out->inode->is_regular())
        return -EINVAL;
    u64 in_offset = 0;
    u64 out_offset = 0;
    if (user_in_offset) {
        auto got = read_offset(user_in_offset);
        if (got.is_error())
            return error(got.error());
        in_offset = got.value();
    }
    if (user_out_offset) {
        auto got = read_offset(user_out_offset);
        if (got.is_error())
            return error(got.error());
        out_offset = got.value();
    }
    length = min(length, MAX_RW_COUNT);
    if (in->inode == out->inode) {
        const u64 from = user_in_offset ? in_offset : in->position;
        const u64 to = user_out_offset ? out_offset : out->position;
        if (from < to + length && to < from + length)
            return -EINVAL;
    }
    auto copied = copy_between(*in, user_in_offset ? &in_offset : nullptr, *out, user_out_offset ? &out_offset : nullptr,
                               length);
    if (user_in_offset && user::put_user(reinterpret_cast<i64*>(user_in_offset), static_cast<i64>(in_offset)).is_error())
        return -EFAULT;
    if (user_out_offset
        && user::put_user(reinterpret_cast<i64*>(user_out_offset), static_cast<i64>(out_offset)).is_error())
        return -EFAULT;
    return copied.is_error() ? error(copied.error()) : static_cast<long>(copied.value());
}

} // namespace

void register_splice_syscalls()
{
    register_syscall(__NR_sendfile, "sendfile", sys_sendfile);
    register_syscall(__NR_copy_file_range, "copy_file_range", sys_copy_file_range);
}

} // namespace sys
