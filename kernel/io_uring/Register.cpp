// io_uring_register(2): registered buffers (pinned once, for READ_FIXED and
// WRITE_FIXED), registered files (IOSQE_FIXED_FILE) and the probe. Linux's
// io_uring/rsrc.c and register.c, with their limits and errno values.
#include "arch/x86_64/mm/UserCopy.h"
#include "fs/vfs/FileApi.h"
#include "kernel/io_uring/OpDefs.h"
#include "kernel/io_uring/RingFile.h"
#include "kernel/lib/String.h"
#include "kernel/mm/AddressSpace.h"
#include "kernel/mm/Heap.h"
#include "kernel/proc/Current.h"
#include "kernel/proc/Process.h"
#include "uapi/resource.h"

namespace io_uring {
namespace {

constexpr u32 MAX_REGISTERED_BUFFERS = 1u << 14; // IORING_MAX_REG_BUFFERS
constexpr u64 MAX_BUFFER_BYTES = 1ull << 30;      // SZ_1G
constexpr u32 MAX_FIXED_FILES = 1u << 20;         // IORING_MAX_FIXED_FILES

struct UserIovec {
    u64 base;
    u64 length;
};

void release_buffer(RegisteredBuffer& buffer)
{
    if (buffer.pages) {
        mm::AddressSpace::unpin_user_pages(buffer.pages, buffer.page_count);
        kfree(buffer.pages);
    }
    buffer = {};
}

} // namespace

long Ring::do_register(u32 opcode, u64 argument, u32 count)
{
    MutexGuard guard(m_submit_lock);
    if (m_dead)
        return -ENXIO;
    switch (opcode) {
    case IORING_REGISTER_BUFFERS:
        return argument ? register_buffers(argument, count) : -EFAULT;
    case IORING_UNREGISTER_BUFFERS:
        return argument || count ? -EINVAL : unregister_buffers();
    case IORING_REGISTER_FILES:
        return argument ? register_files(argument, count) : -EFAULT;
    case IORING_UNREGISTER_FILES:
        return argument || count ? -EINVAL : unregister_files();
    case IORING_REGISTER_PROBE:
        return argument && count <= 256 ? register_probe(argument, count) : -EINVAL;
    default:
        // Known to Linux but not implemented here, or unknown.
        return -EINVAL;
    }
}

long Ring::register_buffers(u64 argument, u32 count)
{
    if (m_buffers)
        return -EBUSY;
    if (count == 0 || count > MAX_REGISTERED_BUFFERS)
        return -EINVAL;
    auto* iovecs = static_cast<UserIovec*>(kmalloc(count * sizeof(UserIovec)));
    auto* buffers = new (nothrow) RegisteredBuffer[count];
    if (!iovecs || !buffers) {
        kfree(iovecs);
        delete[] buffers;
        return -ENOMEM;
    }
    long error = 0;
    if (user::copy_from_user(iovecs, reinterpret_cast<const void*>(argument), count * sizeof(UserIovec)).is_error())
        error = -EFAULT;
    mm::AddressSpace* space = proc::current_process()->address_space;
    for (u32 i = 0; i < count && !error; i++) {
        const UserIovec& iov = iovecs[i];
        // Linux's io_buffer_validate: a null base only with length 0, at most 1 GiB.
        if (!iov.base) {
            if (iov.length)
                error = -EFAULT;
            continue;
        }
        if (iov.length > MAX_BUFFER_BYTES) {
            error = -EFAULT;
            continue;
        }
        if (iov.base + iov.length < iov.base) {
            error = -EOVERFLOW;
            continue;
        }
        if (iov.length == 0)
            continue;
        const u64 first = align_down(iov.base, u64(PAGE_SIZE));
        const usize pages = (align_up(iov.base + iov.length, u64(PAGE_SIZE)) - first) >> PAGE_SHIFT;
        auto** pinned = static_cast<Page**>(kmalloc(pages * sizeof(Page*)));
        if (!pinned) {
            error = -ENOMEM;
            continue;
        }
        if (space->pin_user_pages(first, pages, true, pinned).is_error()) {
            kfree(pinned);
            error = -EFAULT;
            continue;
        }
        buffers[i] = { iov.base, iov.length, pinned, pages };
    }
    kfree(iovecs);
    if (error) {
        for (u32 i = 0; i < count; i++)
            release_buffer(buffers[i]);
        delete[] buffers;
        return error;
    }
    m_buffers = buffers;
    m_buffer_count = count;
    return 0;
}

long Ring::unregister_buffers()
{
    if (!m_buffers)
        return -ENXIO;
    // The device may still be moving data into these pages: wait for every
    // request that uses them to be released.
    for (;;) {
        reap();
        if (m_fixed_buffer_users.load(MemoryOrder::Acquire) == 0)
            break;
        wait_event(m_idle_wait, [&] {
            return m_fixed_buffer_users.load(MemoryOrder::Acquire) == 0
                || m_completion.with([](CompletionState& s) { return !s.reap.is_empty(); });
        });
    }
    for (u32 i = 0; i < m_buffer_count; i++)
        release_buffer(m_buffers[i]);
    delete[] m_buffers;
    m_buffers = nullptr;
    m_buffer_count = 0;
    return 0;
}

long Ring::register_files(u64 argument, u32 count)
{
    if (m_fixed_files)
        return -EBUSY;
    if (count == 0)
        return -EINVAL;
    if (count > MAX_FIXED_FILES || count > proc::current_process()->rlimits[RLIMIT_NOFILE].current)
        return -EMFILE;
    auto* fds = static_cast<i32*>(kmalloc(count * sizeof(i32)));
    auto** files = static_cast<vfs::File**>(kzalloc(count * sizeof(vfs::File*)));
    if (!fds || !files) {
        kfree(fds);
        kfree(files);
        return -ENOMEM;
    }
    long error = 0;
    if (user::copy_from_user(fds, reinterpret_cast<const void*>(argument), count * sizeof(i32)).is_error())
        error = -EFAULT;
    for (u32 i = 0; i < count && !error; i++) {
        if (fds[i] == -1)
            continue; // a sparse slot
        auto file = proc::current_process()->files->table.get(fds[i]);
        if (file.is_error()) {
            error = -EBADF;
            break;
        }
        // Linux refuses io_uring files (a ring registered in itself would
        // never be released).
        if (is_ring_file(*file.value())) {
            (void)vfs::close(file.value());
            error = -EBADF;
            break;
        }
        files[i] = file.value();
    }
    kfree(fds);
    if (error) {
        for (u32 i = 0; i < count; i++)
            if (files[i])
                (void)vfs::close(files[i]);
        kfree(files);
        return error;
    }
    m_fixed_files = files;
    m_fixed_file_count = count;
    return 0;
}

long Ring::unregister_files()
{
    if (!m_fixed_files)
        return -ENXIO;
    // Requests hold their own reference: they are not affected.
    for (u32 i = 0; i < m_fixed_file_count; i++)
        if (m_fixed_files[i])
            (void)vfs::close(m_fixed_files[i]);
    kfree(m_fixed_files);
    m_fixed_files = nullptr;
    m_fixed_file_count = 0;
    return 0;
}

// Linux's io_probe: the caller's buffer must be zeroed; every opcode up to
// `count` is listed, flagged IO_URING_OP_SUPPORTED when it works here.
long Ring::register_probe(u64 argument, u32 count)
{
    count = min<u32>(count, IORING_OP_LAST);
    const usize size = sizeof(uapi::io_uring_probe) + count * sizeof(uapi::io_uring_probe_op);
    auto* probe = static_cast<uapi::io_uring_probe*>(kmalloc(size));
    if (!probe)
        return -ENOMEM;
    long result = 0;
    if (user::copy_from_user(probe, reinterpret_cast<const void*>(argument), size).is_error()) {
        result = -EFAULT;
    } else {
        const u8* bytes = reinterpret_cast<const u8*>(probe);
        for (usize i = 0; i < size; i++)
            if (bytes[i])
                result = -EINVAL;
    }
    if (!result) {
        probe->last_op = IORING_OP_LAST - 1;
        for (u32 op = 0; op < count; op++) {
            probe->ops[op].op = static_cast<u8>(op);
            if (op_supported(static_cast<u8>(op)))
                probe->ops[op].flags = IO_URING_OP_SUPPORTED;
        }
        probe->ops_len = static_cast<u8>(count);
        if (user::copy_to_user(reinterpret_cast<void*>(argument), probe, size).is_error())
            result = -EFAULT;
    }
    kfree(probe);
    return result;
}

void Ring::release_registrations()
{
    if (m_buffers)
        (void)unregister_buffers();
    if (m_fixed_files)
        (void)unregister_files();
}

} // namespace io_uring
