// mm::AddressSpace: the user half of one process's virtual memory — its VMAs
// (kernel/mm/Vma.h), its 4-level page table (arch/x86_64/mm/PageTable.h,
// PML4 entries 0..255; 256..511 are the shared kernel half), demand paging,
// copy-on-write fork, file mappings through mm::VmBacking, and the CPUs that
// may hold its translations in their TLBs. docs/Memory.md has the layout and
// the rules; Linux's mm_struct is the model.
//
// Pages:
//   anonymous private  allocated zeroed on the first touch (PAGE_ANON); fork
//                      shares them read-only in both processes and the first
//                      write copies (or reuses the page if nobody else maps it)
//   file / backing     the backing's page (page cache, ring). MAP_SHARED maps
//                      it writable once written (marking it dirty); MAP_PRIVATE
//                      maps it read-only and a write copies it into an
//                      anonymous page
//   pinned             pin_user_pages(): PIN_BIAS references (PageRef.h), so
//                      munmap, exit or a COW break never frees or reuses the
//                      page while a device writes into it
//
// TLB: activate() adds the CPU to cpus_seen; every change that removes or
// narrows an entry (munmap, mprotect, COW break, mremap, MADV_DONTNEED) shoots
// the range down on those CPUs before the pages and page-table pages it freed
// are released (they are collected in a batch first).
//
// Locking: one mutex (LockRank::MutexAddressSpace, Linux's mmap_lock taken
// for write) serialises VMA changes and faults. Faults may sleep in a backing
// (a page-cache read). Never touch user memory of this space while holding it.
//
// Lifetime: refcounted; create() and fork() return one reference. The last
// unref() first makes every CPU that still has this page table loaded (a lazy
// kernel thread) switch to the kernel page table, then returns every page,
// page table and VMA.
#pragma once

#include "kernel/irq/CpuMask.h"
#include "kernel/lib/Atomic.h"
#include "kernel/lib/Result.h"
#include "kernel/lib/Types.h"
#include "kernel/mm/PageFault.h"
#include "kernel/mm/Vma.h"
#include "kernel/sync/Mutex.h"

struct Page;

namespace mm {

class PageTable;

// Default layout without randomisation (Linux x86-64 with ASLR off): the
// initial stack ends at STACK_TOP; mmap() hands out ranges top-down below
// MMAP_BASE (a 128 MiB stack gap plus the 1 MiB guard gap).
constexpr uptr STACK_TOP = USER_END;
constexpr uptr MMAP_BASE = STACK_TOP - 129 * MiB;
constexpr usize STACK_GUARD_GAP = 256 * PAGE_SIZE; // Linux stack_guard_gap
constexpr usize STACK_MAX = 8 * MiB;                // RLIMIT_STACK default

// An mmap() request, with Linux's PROT_* and MAP_* values (uapi/mman.h).
struct MapRequest {
    uptr address = 0;   // hint, or the address with MAP_FIXED / MAP_FIXED_NOREPLACE
    usize length = 0;
    u32 prot = 0;
    u32 flags = 0;
    VmBacking* backing = nullptr; // null with MAP_ANONYMOUS; the VMA takes its own reference
    u64 offset = 0;               // bytes, page aligned
    u32 extra_vma_flags = 0;      // VMA_STACK / VMA_HEAP for the loader
};

class AddressSpace {
public:
    static Result<AddressSpace*> create();
    // A copy-on-write copy of this space (fork(2)): VMAs with MADV_DONTFORK
    // are left out, shared VMAs stay shared, private pages become read-only
    // in both and are copied on the first write.
    Result<AddressSpace*> fork();

    void ref();
    void unref();

    // mmap(2) semantics (after the syscall layer checked fd and flags):
    // returns the start address. EINVAL, ENOMEM, EEXIST (MAP_FIXED_NOREPLACE).
    Result<uptr> map(const MapRequest& request);
    // munmap(2): [address, address + length) may cover holes and parts of VMAs.
    Result<void> unmap(uptr address, usize length);
    // mprotect(2). ENOMEM if part of the range is not mapped (Linux changes
    // the VMAs up to the first hole and then fails the same way).
    Result<void> protect(uptr address, usize length, u32 prot);
    // brk(2): moves the break and returns the new one, or the old one if it
    // cannot (Linux returns the current break on failure, never an error).
    uptr brk(uptr new_break);
    // The ELF loader: the heap starts at `address` (page aligned, after bss).
    void set_brk_start(uptr address);
    uptr brk_start() const { return m_brk_start; }
    // mremap(2) with MREMAP_MAYMOVE / MREMAP_FIXED.
    Result<uptr> remap(uptr old_address, usize old_length, usize new_length, u32 flags, uptr new_address);
    // madvise(2): MADV_NORMAL, RANDOM, SEQUENTIAL, WILLNEED, DONTNEED, FREE
    // (as DONTNEED), DONTFORK, DOFORK.
    Result<void> advise(uptr address, usize length, int advice);
    // msync(2): MS_ASYNC, MS_SYNC, MS_INVALIDATE.
    Result<void> sync(uptr address, usize length, int flags);
    // mincore(2): one byte per page of [address, address + length) into
    // `vector` (kernel memory; the caller copies it out). ENOMEM for holes.
    Result<void> mincore(uptr address, usize length, u8* vector);

    FaultResult handle_fault(const PageFaultInfo& info);

    // Fill [destination, destination + size) with `source` (or zeroes when
    // source is null), faulting the pages in as a write by the kernel: works
    // on a space that is not active and on read-only VMAs (the ELF loader's
    // text, the initial stack). EFAULT outside any VMA, ENOMEM.
    Result<void> populate_from(uptr destination, const void* source, usize size);
    // Fault in and pin the `count` pages from `address` (page aligned) for
    // DMA: pages[i] holds PIN_BIAS references until unpin_user_pages().
    // `write`: the device writes into them (breaks COW first). EFAULT if a
    // page is not mapped with the needed access; nothing stays pinned then.
    Result<void> pin_user_pages(uptr address, usize count, bool write, Page** pages);
    static void unpin_user_pages(Page** pages, usize count);

    // Load this page table on this CPU (CR3) and remember that the CPU may
    // now cache its translations. Interrupts or preemption off around the
    // switch is the caller's business (the context switch).
    void activate();
    // The address space active on this CPU, or null (kernel page table).
    static AddressSpace* active();
    // Load the kernel page table on this CPU if this space is active here.
    void deactivate();

    // --- for tests and /proc ---------------------------------------------------
    usize vma_count();
    // Pages mapped in the page table (resident set).
    u64 resident_pages();
    PageTable& page_table() { return *m_page_table; }
    CpuMask cpus_seen() const;
    // Visit every VMA under the lock (for /proc/<pid>/maps).
    template <typename Function>
    void for_each_vma(Function&& function)
    {
        MutexGuard guard(m_lock);
        for (Vma& vma : m_vmas.list())
            function(static_cast<const Vma&>(vma));
    }

    // Live address spaces (tests check it returns to its start value).
    static u64 live_count();

private:
    friend class ZapBatch;
    explicit AddressSpace(PageTable* page_table) : m_page_table(page_table) { }
    ~AddressSpace();

    Result<uptr> map_locked(const MapRequest& request);
    Result<uptr> choose_address(const MapRequest& request);
    Result<void> unmap_locked(uptr start, uptr end);
    // Remove the pages (not the VMAs) of [start, end), which lies inside `vma`.
    void zap_range(Vma& vma, uptr start, uptr end, class ZapBatch& batch);
    FaultResult fault_locked(uptr address, bool write, bool exec, bool force);
    FaultResult fault_missing(Vma& vma, uptr page_va, bool write);
    FaultResult fault_write_protected(Vma& vma, uptr page_va, u64 entry);
    Vma* find_vma_for_fault(uptr address);
    u64 entry_bits(const Vma& vma, bool writable) const;
    void shootdown(uptr start, usize length);
    Result<void> copy_into(AddressSpace& child, Vma& vma);

    Mutex m_lock{LockRank::MutexAddressSpace, "address space"};
    PageTable* m_page_table;
    VmaList m_vmas;
    uptr m_brk_start = 0;
    uptr m_brk = 0;
    Atomic<i32> m_refcount{1};
    Atomic<u64> m_cpus_seen{0}; // CpuMask bits: CPUs that loaded this CR3
};

} // namespace mm
