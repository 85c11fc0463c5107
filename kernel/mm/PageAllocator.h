// The physical page allocator: a buddy allocator over the Multiboot2 memory
// map with a per-CPU cache of order-0 pages in front of it.
//
// Every physical page has a Page descriptor (kernel/mm/Page.h); allocation
// returns the descriptor of the first page of a 2^order block, aligned to its
// size in physical memory. Callable from any context, interrupts included
// (the locks disable interrupts); never sleeps.
#pragma once

#include "kernel/lib/Types.h"
#include "kernel/mm/BuddyAllocator.h"
#include "kernel/mm/Page.h"

struct BootInfo;

namespace mm {

constexpr unsigned MAX_ORDER = BuddyAllocator::MAX_ORDER; // largest block: 2^10 pages = 4 MiB

enum AllocFlags : u32 {
    ALLOC_NONE = 0,
    ALLOC_ZERO = 1 << 0, // zero the memory
    ALLOC_DMA32 = 1 << 1, // physical address below 4 GiB
};

// Boot: build the buddy free lists from the memory map, reserving the low
// 1 MiB, the kernel image, modules and boot information; then the kernel page
// tables (direct map of all RAM, kernel image with section permissions) and
// the heap. Logs a memory summary.
void init(const BootInfo& info);

// The smallest order whose block holds `bytes` (0 for a page or less).
constexpr unsigned order_for_bytes(usize bytes)
{
    unsigned order = 0;
    while ((PAGE_SIZE << order) < bytes)
        order++;
    return order;
}

// nullptr when no block of that order is free (or before init).
Page* alloc_pages(unsigned order, u32 flags = ALLOC_NONE);
// Panics on a page that is not an allocated block head (double free, reserved page).
void free_pages(Page* page, unsigned order);
inline Page* alloc_page(u32 flags = ALLOC_NONE) { return alloc_pages(0, flags); }
inline void free_page(Page* page) { free_pages(page, 0); }

PhysAddr page_to_phys(const Page* page);
Page* phys_to_page(PhysAddr phys); // nullptr beyond the highest RAM page
void* page_address(const Page* page); // its direct-map address
Page* virt_to_page(const void* direct_map_address);

// Counters, in pages; tests compare them before and after a workload. Exact
// at all times: `free` counts pages not handed out to a caller.
struct PageCounters {
    u64 total;    // usable RAM in the memory map (whole pages)
    u64 free;     // in the buddy lists and the per-CPU caches
    u64 reserved; // kernel image, modules, boot data, low 1 MiB, descriptor array

    u64 used() const { return total - free - reserved; } // handed out to callers
};
PageCounters page_counters();

// Give this CPU's cached order-0 pages back to the buddy lists (tests, and
// before looking for a large contiguous block).
void drain_page_magazine();

// Highest usable page frame number + 1 (the size of the descriptor array).
u64 max_pfn();

// Memory pressure: `callback` runs after an allocation that failed or left
// fewer than `low_watermark_pages` free. It runs in the allocating context
// (any context, interrupts included, no allocator lock held) and must not
// sleep: the page cache uses it to wake its reclaim thread.
using PressureCallback = void (*)();
void set_pressure_callback(PressureCallback callback, u64 low_watermark_pages);

} // namespace mm
