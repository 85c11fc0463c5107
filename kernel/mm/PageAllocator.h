// The physical page allocator: a buddy allocator over the Multiboot2 memory
// map with a per-CPU cache of order-0 pages in front of it.
//
// Every physical page has a Page descriptor (kernel/mm/Page.h); allocation
// returns the descriptor of the first page of a 2^order block.
#pragma once

#include "kernel/lib/Types.h"
#include "kernel/mm/Page.h"

struct BootInfo;

namespace mm {

constexpr unsigned MAX_ORDER = 10; // largest block: 2^10 pages = 4 MiB

enum AllocFlags : u32 {
    ALLOC_NONE = 0,
    ALLOC_ZERO = 1 << 0, // zero the memory
    ALLOC_DMA32 = 1 << 1, // physical address below 4 GiB
};

// Boot: build the buddy free lists from the memory map, reserving the kernel
// image, modules and boot information. Then the full direct map.
void init(const BootInfo& info);

Page* alloc_pages(unsigned order, u32 flags = ALLOC_NONE);
void free_pages(Page* page, unsigned order);
inline Page* alloc_page(u32 flags = ALLOC_NONE) { return alloc_pages(0, flags); }
inline void free_page(Page* page) { free_pages(page, 0); }

PhysAddr page_to_phys(const Page* page);
Page* phys_to_page(PhysAddr phys);
void* page_address(const Page* page); // its direct-map address
Page* virt_to_page(const void* direct_map_address);

// Counters, in pages; tests compare them before and after a workload.
struct PageCounters {
    u64 total;
    u64 free;     // in the buddy lists and the per-CPU caches
    u64 reserved; // kernel image, modules, firmware
};
PageCounters page_counters();

} // namespace mm
