// x86-64 4-level page tables (Intel SDM Vol. 3A §4.5 "4-Level Paging").
//
// A PageTable is one PML4 and the tables below it. It maps, unmaps, changes
// protections and translates virtual ranges with 4 KiB, 2 MiB and 1 GiB pages,
// splitting a large page when an operation covers only part of it. Table
// pages come from the page allocator (PAGE_PAGE_TABLE) and are reached
// through the direct map.
//
// The kernel half (PML4 entries 256..511) is shared: the kernel page table
// preallocates every kernel PDPT at boot, and an address space created later
// copies those 256 entries, so a kernel mapping made at any time is visible
// in every address space without touching their PML4s.
//
// TLB: unmap() and protect() flush the changed entries on this CPU; on the
// kernel page table they also shoot them down on every other online CPU
// before returning (kernel/irq/Ipi.h). map() needs no flush (a not-present
// entry is never cached as a translation, SDM Vol. 3A §4.10.2.3).
#pragma once

#include "kernel/lib/Result.h"
#include "kernel/lib/Types.h"
#include "kernel/sync/SpinLock.h"

namespace mm {

// Entry bits (SDM Vol. 3A §4.5, Tables 4-15 to 4-20).
namespace pte {
constexpr u64 PRESENT = 1ul << 0;
constexpr u64 WRITABLE = 1ul << 1;      // R/W: writes allowed (with CR0.WP, also for ring 0)
constexpr u64 USER = 1ul << 2;          // U/S: ring 3 may access
constexpr u64 WRITE_THROUGH = 1ul << 3; // PWT
constexpr u64 CACHE_DISABLE = 1ul << 4; // PCD; PCD|PWT selects PAT entry 3 = UC (§11.12.3)
constexpr u64 ACCESSED = 1ul << 5;
constexpr u64 DIRTY = 1ul << 6;
constexpr u64 HUGE = 1ul << 7;          // PS in a PDPTE (1 GiB) or PDE (2 MiB); PAT in a PTE
constexpr u64 GLOBAL = 1ul << 8;        // survives CR3 writes when CR4.PGE = 1 (§4.10.2.4)
constexpr u64 PAT_LARGE = 1ul << 12;    // PAT bit of a 1 GiB / 2 MiB entry
constexpr u64 NO_EXECUTE = 1ul << 63;   // XD, needs IA32_EFER.NXE (§4.6)
constexpr u64 ADDRESS_MASK = 0x000ffffffffff000ul; // bits 51:12 (MAXPHYADDR <= 52)
} // namespace pte

// What a mapping allows; translated to entry bits by the PageTable. Without
// MAP_WRITE a page is read-only, without MAP_EXEC it is non-executable.
enum MapFlags : u32 {
    MAP_READ = 0,
    MAP_WRITE = 1 << 0,
    MAP_EXEC = 1 << 1,
    MAP_USER = 1 << 2,
    MAP_UNCACHED = 1 << 3, // PCD|PWT: device memory
    MAP_GLOBAL = 1 << 4,   // kernel mappings shared by every address space
};

constexpr usize PAGE_SIZE_2M = 2 * MiB;
constexpr usize PAGE_SIZE_1G = 1 * GiB;

struct Translation {
    PhysAddr phys = 0;    // the physical address `virt` translates to
    u64 entry = 0;        // the leaf entry (pte:: bits)
    usize page_size = 0;  // 4 KiB, 2 MiB or 1 GiB; 0 if not mapped

    bool is_mapped() const { return page_size != 0; }
    bool is_writable() const { return entry & pte::WRITABLE; }
    bool is_executable() const { return !(entry & pte::NO_EXECUTE); }
    bool is_user() const { return entry & pte::USER; }
    bool is_uncached() const { return entry & pte::CACHE_DISABLE; }
    bool is_global() const { return entry & pte::GLOBAL; }
};

class PageTable {
public:
    // Wraps an existing PML4 (physical address). `is_kernel`: changes are
    // shot down on all CPUs (the kernel half is shared by every CPU).
    explicit PageTable(PhysAddr pml4_phys, bool is_kernel = false) : m_pml4(pml4_phys), m_is_kernel(is_kernel) { }
    PageTable(const PageTable&) = delete;
    PageTable& operator=(const PageTable&) = delete;

    // A fresh PML4 whose kernel half is the kernel page table's (shared).
    static Result<PageTable*> create_address_space();
    // Free its user-half tables and PML4 (not the pages its leaves map; the
    // caller has unmapped and released those, and no CPU uses it as CR3).
    static void destroy_address_space(PageTable* page_table);

    PhysAddr root() const { return m_pml4; }

    // Map [virt, virt + size) to [phys, ...). All three must be 4 KiB aligned.
    // Uses 2 MiB / 1 GiB pages where alignment allows, up to `max_page_size`.
    // EEXIST if any page of the range is already mapped (nothing is changed
    // then), ENOMEM if a table page could not be allocated.
    Result<void> map(uptr virt, PhysAddr phys, usize size, u32 flags, usize max_page_size = PAGE_SIZE);
    // Unmap every mapped page of the range (holes are fine), splitting large
    // pages that stick out of it.
    Result<void> unmap(uptr virt, usize size);
    // Change the flags of every mapped page of the range, splitting as needed.
    Result<void> protect(uptr virt, usize size, u32 flags);
    Translation translate(uptr virt);

    // For user address spaces (kernel/mm/AddressSpace.cpp), which track the
    // CPUs that may cache their entries and shoot those down themselves:
    // call visit(context, entry, virt) under the table lock for every present
    // 4 KiB leaf of [virt, virt + size), splitting large pages that stick out.
    // The visitor may rewrite or clear *entry; nothing is flushed here.
    using LeafVisitor = void (*)(void* context, u64* entry, uptr virt);
    Result<void> visit_leaves(uptr virt, usize size, LeafVisitor visit, void* context);
    // Install a 4 KiB leaf entry (pte:: bits with the address) at `virt`,
    // allocating tables on the way; EEXIST if a leaf is present there
    // (nothing changed), ENOMEM. No flush needed: it was not present.
    Result<void> set_leaf(uptr virt, u64 entry);
    // Detach every table page that lies wholly inside [virt, virt + size)
    // and maps nothing, and hand each to collect(context, table_phys): the
    // caller frees them once no CPU can walk them any more (after its TLB
    // shootdown, SDM Vol. 3A §4.10.2 paging-structure caches).
    using TableCollector = void (*)(void* context, PhysAddr table);
    void detach_empty_tables(uptr virt, usize size, TableCollector collect, void* context);

    // Entry bits for `flags` (NX only when the CPU has it).
    static u64 entry_bits(u32 flags);
    // [virt, virt + size) is canonical at both ends, does not wrap past 2^64
    // and lies in one half. map/unmap/protect/visit answer EINVAL otherwise.
    static bool is_valid_range(uptr virt, usize size);

private:
    template <typename LeafFunction>
    Result<void> for_each_leaf(uptr virt, usize size, LeafFunction&& function);
    bool is_range_unmapped(uptr virt, usize size);
    Result<void> unmap_locked(uptr virt, usize size);
    bool detach_empty_below(u64* entry, int level, uptr entry_start, uptr virt, uptr last, TableCollector collect,
                            void* context);

    PhysAddr m_pml4;
    bool m_is_kernel;
    SpinLock m_lock{LockRank::PageTable, "page table"};
};

// Toggle PGE/reload CR3 for all (global too) or one page, on this CPU.
void flush_tlb_local_all();
void flush_tlb_local(uptr virt);
// After changing kernel mappings: flush [virt, virt + size) on this CPU and
// every other online CPU (IPI), returning once all have done it.
void flush_tlb_kernel_range(uptr virt, usize size);

} // namespace mm
