// The memory-mapping family: mmap, munmap, mprotect, brk, mremap, madvise,
// msync, mincore on the calling process's address space (kernel/mm/
// AddressSpace.h), with Linux's argument checks and errno values (mm/mmap.c,
// mm/mprotect.c, mm/mremap.c, mm/madvise.c, mm/msync.c, mm/mincore.c).
#include "arch/x86_64/mm/UserCopy.h"
#include "fs/vfs/FileApi.h"
#include "kernel/mm/AddressSpace.h"
#include "kernel/proc/Current.h"
#include "kernel/syscall/Table.h"
#include "uapi/errno.h"
#include "uapi/fcntl.h"
#include "uapi/mman.h"
#include "uapi/unistd_64.h"

namespace sys {
namespace {

long error(const Error& e) { return -static_cast<long>(e.code()); }

mm::AddressSpace* current_space()
{
    proc::Process* process = proc::current_process();
    return process ? process->address_space : nullptr;
}

// The MAP_* bits Linux knows (MAP_SHARED_VALIDATE rejects any other).
constexpr u32 KNOWN_MAP_FLAGS = MAP_TYPE | MAP_FIXED | MAP_ANONYMOUS | MAP_32BIT | MAP_GROWSDOWN | MAP_DENYWRITE |
                                MAP_EXECUTABLE | MAP_LOCKED | MAP_NORESERVE | MAP_POPULATE | MAP_NONBLOCK |
                                MAP_STACK | MAP_HUGETLB | MAP_SYNC | MAP_FIXED_NOREPLACE | MAP_UNINITIALIZED;

long sys_mmap(u64 address, u64 length, u64 prot, u64 flags_arg, u64 fd_arg, u64 offset)
{
    mm::AddressSpace* space = current_space();
    if (!space)
        return -ENOMEM;
    u32 flags = static_cast<u32>(flags_arg);
    u32 type = flags & MAP_TYPE;
    if (offset & (PAGE_SIZE - 1))
        return -EINVAL;
    if (type != MAP_PRIVATE && type != MAP_SHARED && type != MAP_SHARED_VALIDATE)
        return -EINVAL;
    if (type == MAP_SHARED_VALIDATE && (flags & ~KNOWN_MAP_FLAGS))
        return -EOPNOTSUPP;
    if (length == 0)
        return -EINVAL;
    if (align_up(length, u64(PAGE_SIZE)) == 0 || length > mm::USER_END)
        return -ENOMEM;
    if ((flags & MAP_HUGETLB))
        return -ENOMEM; // no huge pages reserved (Linux with vm.nr_hugepages = 0)

    mm::MapRequest request;
    request.address = address;
    request.length = length;
    request.prot = static_cast<u32>(prot) & (PROT_READ | PROT_WRITE | PROT_EXEC);
    request.flags = flags;
    request.offset = offset;
    if (flags & MAP_ANONYMOUS) {
        request.offset = 0;
        auto mapped = space->map(request);
        return mapped.is_error() ? error(mapped.error()) : static_cast<long>(mapped.value());
    }

    int fd = static_cast<int>(fd_arg);
    auto got = proc::current_process()->files->table.get(fd);
    if (got.is_error())
        return -EBADF;
    vfs::File* file = got.value();
    long result;
    {
        u32 mode = file->flags & O_ACCMODE;
        bool shared = type != MAP_PRIVATE;
        // mmap(2) EACCES: not open for reading; MAP_SHARED + PROT_WRITE
        // without O_RDWR; MAP_SHARED + PROT_WRITE on an append-only file.
        if (mode == O_WRONLY || (file->flags & O_PATH)) {
            result = file->flags & O_PATH ? -EBADF : -EACCES;
        } else if (shared && (prot & PROT_WRITE) && (mode != O_RDWR || (file->flags & O_APPEND))) {
            result = -EACCES;
        } else {
            if (shared && mode != O_RDWR)
                request.extra_vma_flags |= mm::VMA_NO_WRITE;
            vfs::MmapRequest file_request;
            file_request.offset = offset;
            file_request.length = length;
            file_request.protection = request.prot;
            file_request.flags = flags;
            auto hooked = vfs::mmap(*file, file_request);
            if (hooked.is_error()) {
                result = error(hooked.error());
            } else {
                request.backing = file_request.backing;
                auto mapped = space->map(request);
                request.backing->unref(); // the VMA holds its own
                result = mapped.is_error() ? error(mapped.error()) : static_cast<long>(mapped.value());
            }
        }
    }
    (void)vfs::close(file);
    return result;
}

long sys_munmap(u64 address, u64 length, u64, u64, u64, u64)
{
    mm::AddressSpace* space = current_space();
    auto result = space->unmap(address, length);
    return result.is_error() ? error(result.error()) : 0;
}

long sys_mprotect(u64 address, u64 length, u64 prot, u64, u64, u64)
{
    mm::AddressSpace* space = current_space();
    auto result = space->protect(address, length, static_cast<u32>(prot));
    return result.is_error() ? error(result.error()) : 0;
}

long sys_brk(u64 address, u64, u64, u64, u64, u64)
{
    return static_cast<long>(current_space()->brk(address));
}

long sys_mremap(u64 old_address, u64 old_length, u64 new_length, u64 flags, u64 new_address, u64)
{
    auto result = current_space()->remap(old_address, old_length, new_length, static_cast<u32>(flags), new_address);
    return result.is_error() ? error(result.error()) : static_cast<long>(result.value());
}

long sys_madvise(u64 address, u64 length, u64 advice, u64, u64, u64)
{
    auto result = current_space()->advise(address, length, static_cast<int>(advice));
    return result.is_error() ? error(result.error()) : 0;
}

long sys_msync(u64 address, u64 length, u64 flags, u64, u64, u64)
{
    auto result = current_space()->sync(address, length, static_cast<int>(flags));
    return result.is_error() ? error(result.error()) : 0;
}

long sys_mincore(u64 address, u64 length, u64 vector_address, u64, u64, u64)
{
    if (address & (PAGE_SIZE - 1))
        return -EINVAL;
    // Linux: a range beyond the user half is ENOMEM, an unwritable vector EFAULT.
    if (!user::access_ok(address, length))
        return -ENOMEM;
    u64 pages = align_up(length, u64(PAGE_SIZE)) >> PAGE_SHIFT;
    if (!user::access_ok(vector_address, pages))
        return -EFAULT;
    u8 chunk[256];
    for (u64 done = 0; done < pages;) {
        u64 count = min(pages - done, u64(sizeof(chunk)));
        auto result = current_space()->mincore(address + (done << PAGE_SHIFT), count << PAGE_SHIFT, chunk);
        if (result.is_error())
            return error(result.error());
        if (user::copy_to_user(reinterpret_cast<u8*>(vector_address) + done, chunk, count).is_error())
            return -EFAULT;
        done += count;
    }
    return 0;
}

} // namespace

void register_memory_syscalls()
{
    register_syscall(__NR_mmap, "mmap", sys_mmap);
    register_syscall(__NR_munmap, "munmap", sys_munmap);
    register_syscall(__NR_mprotect, "mprotect", sys_mprotect);
    register_syscall(__NR_brk, "brk", sys_brk);
    register_syscall(__NR_mremap, "mremap", sys_mremap);
    register_syscall(__NR_madvise, "madvise", sys_madvise);
    register_syscall(__NR_msync, "msync", sys_msync);
    register_syscall(__NR_mincore, "mincore", sys_mincore);
}

} // namespace sys
