// The physical page allocator: descriptor array, zones, per-CPU magazines.
//
// Zones: DMA32 (below 4 GiB) and Normal (above). Ordinary requests try Normal
// first so that memory devices limited to 32-bit addresses need stays
// available (the same policy as Linux's zone fallback lists).
//
// Per-CPU magazines: order-0 pages are the common case (slabs, page cache,
// page tables); each CPU keeps up to MAGAZINE_CAPACITY of them and trades
// with the buddy lists in batches, so the zone lock is taken once per batch.
// A magazine is only touched by its CPU with interrupts off.
#include "kernel/mm/PageAllocator.h"

#include "arch/x86_64/Cpu.h"
#include "arch/x86_64/PerCpu.h"
#include "kernel/debug/Panic.h"
#include "arch/x86_64/boot/BootInfo.h"
#include "kernel/lib/Atomic.h"
#include "kernel/lib/String.h"
#include "kernel/log/Log.h"
#include "kernel/mm/FailInjection.h"
#include "kernel/mm/Boot.h"
#include "kernel/mm/DirectMap.h"
#include "kernel/sync/SpinLock.h"

extern "C" char __kernel_phys_start[];
extern "C" char __kernel_phys_end[];

struct PageCacheMagazine {
    static constexpr u32 CAPACITY = 64;
    static constexpr u32 BATCH = 16;
    u32 count;
    Page* pages[CAPACITY];
};

namespace mm {
namespace {

constexpr u64 DMA32_LIMIT_PFN = (4 * GiB) >> PAGE_SHIFT;
constexpr PhysAddr LOW_MEMORY_END = 1 * MiB; // real-mode area, BIOS data, SMP trampoline

Page* g_pages;
u64 g_max_pfn;
SpinLock g_zone_lock{LockRank::PageAllocator, "page zones"};
BuddyAllocator g_zone_dma32;  // guarded by g_zone_lock
BuddyAllocator g_zone_normal; // guarded by g_zone_lock
u64 g_total_pages;
u64 g_reserved_pages;
Atomic<u64> g_free_pages; // pages not handed out to callers
PageCacheMagazine g_magazines[MAX_CPUS];

struct Range {
    PhysAddr start;
    PhysAddr end;
};

constexpr usize MAX_RESERVED = BootInfo::MAX_MODULES + 8;
Range g_reserved[MAX_RESERVED];
usize g_reserved_count;

void reserve(PhysAddr start, PhysAddr end)
{
    if (end <= start)
        return;
    if (g_reserved_count == MAX_RESERVED)
        panic("mm: too many reserved ranges");
    Range range{align_down(start, PhysAddr(PAGE_SIZE)), align_up(end, PhysAddr(PAGE_SIZE))};
    // Keep the list sorted by start (insertion sort: a handful of entries).
    usize i = g_reserved_count++;
    while (i > 0 && g_reserved[i - 1].start > range.start) {
        g_reserved[i] = g_reserved[i - 1];
        i--;
    }
    g_reserved[i] = range;
}

// The first reserved range that overlaps [start, end), or nullptr.
const Range* find_overlap(PhysAddr start, PhysAddr end)
{
    for (usize i = 0; i < g_reserved_count; i++) {
        if (g_reserved[i].start < end && start < g_reserved[i].end)
            return &g_reserved[i];
    }
    return nullptr;
}

// Usable region bounds, rounded inwards to whole pages.
bool usable_bounds(const MemoryRegion& region, PhysAddr& start, PhysAddr& end)
{
    if (region.type != MemoryRegion::Type::Usable)
        return false;
    start = align_up(region.base, PhysAddr(PAGE_SIZE));
    end = align_down(region.base + region.length, PhysAddr(PAGE_SIZE));
    return end > start;
}

// A page-aligned physical range of `size` bytes in usable memory below 4 GiB
// (mapped by the boot page tables) that overlaps nothing reserved.
PhysAddr find_free_range(const BootInfo& info, u64 size)
{
    for (usize i = 0; i < info.region_count; i++) {
        PhysAddr start, end;
        if (!usable_bounds(info.regions[i], start, end))
            continue;
        end = min(end, PhysAddr(4 * GiB));
        PhysAddr candidate = start;
        while (candidate + size <= end) {
            const Range* overlap = find_overlap(candidate, candidate + size);
            if (!overlap)
                return candidate;
            candidate = overlap->end;
        }
    }
    panic("mm: no room for %lu bytes of page descriptors below 4 GiB", size);
}

// Give [start, end) to the zones, split at the 4 GiB line.
void free_to_zones(PhysAddr start, PhysAddr end)
{
    u64 first = start >> PAGE_SHIFT;
    u64 last = end >> PAGE_SHIFT;
    if (first < DMA32_LIMIT_PFN) {
        u64 stop = min(last, DMA32_LIMIT_PFN);
        g_zone_dma32.add_free_range(first, stop - first);
        first = stop;
    }
    if (first < last)
        g_zone_normal.add_free_range(first, last - first);
}

PageCacheMagazine& this_magazine()
{
    PerCpu& cpu = this_cpu();
    if (!cpu.page_magazine) [[unlikely]]
        cpu.page_magazine = &g_magazines[cpu.index];
    return *cpu.page_magazine;
}

Page* buddy_allocate(unsigned order, u32 flags)
{
    // Caller holds g_zone_lock.
    if (!(flags & ALLOC_DMA32)) {
        if (Page* page = g_zone_normal.allocate(order))
            return page;
    }
    return g_zone_dma32.allocate(order);
}

void buddy_free(Page* page, unsigned order)
{
    // Caller holds g_zone_lock.
    BuddyAllocator& zone = g_zone_dma32.contains(page) ? g_zone_dma32 : g_zone_normal;
    if (!zone.free(page, order))
        panic("mm: free_pages(pfn 0x%lx, order %u): not an allocated block", page_to_phys(page) >> PAGE_SHIFT,
              order);
}

// A magazine page back to the buddy lists. Caller holds g_zone_lock.
void magazine_release(Page* page)
{
    page->flags.fetch_and(~PAGE_CACHED, MemoryOrder::Relaxed);
    buddy_free(page, 0);
}

Page* magazine_allocate()
{
    bool irq = x86::save_and_disable_interrupts();
    PageCacheMagazine& magazine = this_magazine();
    if (magazine.count == 0) {
        SpinLockGuard guard(g_zone_lock);
        while (magazine.count < PageCacheMagazine::BATCH) {
            Page* page = buddy_allocate(0, ALLOC_NONE);
            if (!page)
                break;
            page->flags.store(PAGE_CACHED, MemoryOrder::Relaxed);
            magazine.pages[magazine.count++] = page;
        }
    }
    Page* page = magazine.count ? magazine.pages[--magazine.count] : nullptr;
    x86::restore_interrupts(irq);
    return page;
}

void magazine_free(Page* page)
{
    bool irq = x86::save_and_disable_interrupts();
    PageCacheMagazine& magazine = this_magazine();
    if (magazine.count == PageCacheMagazine::CAPACITY) {
        // Return the oldest (coldest) batch; keep the recently freed, cache-warm pages.
        SpinLockGuard guard(g_zone_lock);
        for (u32 i = 0; i < PageCacheMagazine::BATCH; i++)
            magazine_release(magazine.pages[i]);
        memmove(magazine.pages, magazine.pages + PageCacheMagazine::BATCH,
                (magazine.count - PageCacheMagazine::BATCH) * sizeof(Page*));
        magazine.count -= PageCacheMagazine::BATCH;
    }
    page->flags.store(PAGE_CACHED, MemoryOrder::Relaxed);
    magazine.pages[magazine.count++] = page;
    x86::restore_interrupts(irq);
}

const char* region_type_name(MemoryRegion::Type type)
{
    switch (type) {
    case MemoryRegion::Type::Usable:
        return "usable";
    case MemoryRegion::Type::Reserved:
        return "reserved";
    case MemoryRegion::Type::AcpiReclaimable:
        return "ACPI reclaimable";
    case MemoryRegion::Type::AcpiNvs:
        return "ACPI NVS";
    case MemoryRegion::Type::Bad:
        return "bad";
    }
    return "?";
}

} // namespace

void init_page_allocator(const BootInfo& info)
{
    for (usize i = 0; i < info.region_count; i++) {
        const MemoryRegion& region = info.regions[i];
        log_info("mm", "  [0x%012lx-0x%012lx) %s", region.base, region.base + region.length,
                 region_type_name(region.type));
    }
    for (usize i = 0; i < info.region_count; i++) {
        PhysAddr start, end;
        if (!usable_bounds(info.regions[i], start, end))
            continue;
        g_max_pfn = max(g_max_pfn, end >> PAGE_SHIFT);
        g_total_pages += (end - start) >> PAGE_SHIFT;
    }
    if (g_max_pfn == 0)
        panic("mm: the memory map has no usable RAM");

    reserve(0, LOW_MEMORY_END);
    reserve(reinterpret_cast<PhysAddr>(__kernel_phys_start), reinterpret_cast<PhysAddr>(__kernel_phys_end));
    reserve(info.info_start, info.info_end);
    for (usize i = 0; i < info.module_count; i++)
        reserve(info.modules[i].start, info.modules[i].end);

    u64 array_bytes = align_up(g_max_pfn * sizeof(Page), u64(PAGE_SIZE));
    PhysAddr array_phys = find_free_range(info, array_bytes);
    reserve(array_phys, array_phys + array_bytes);
    g_pages = phys_to_virt<Page>(array_phys);
    memset(g_pages, 0, array_bytes);
    for (u64 pfn = 0; pfn < g_max_pfn; pfn++)
        g_pages[pfn].flags.store(PAGE_RESERVED, MemoryOrder::Relaxed);

    u64 dma32_pages = min(g_max_pfn, DMA32_LIMIT_PFN);
    g_zone_dma32.init(g_pages, 0, dma32_pages);
    g_zone_normal.init(g_pages + dma32_pages, dma32_pages, g_max_pfn - dma32_pages);

    // Usable regions minus the reserved ranges (both sorted by address).
    for (usize i = 0; i < info.region_count; i++) {
        PhysAddr start, end;
        if (!usable_bounds(info.regions[i], start, end))
            continue;
        PhysAddr cursor = start;
        for (usize r = 0; r < g_reserved_count && cursor < end; r++) {
            const Range& range = g_reserved[r];
            if (range.end <= cursor || range.start >= end)
                continue;
            if (range.start > cursor)
                free_to_zones(cursor, range.start);
            cursor = max(cursor, range.end);
        }
        if (cursor < end)
            free_to_zones(cursor, end);
    }

    g_free_pages.store(g_zone_dma32.free_pages() + g_zone_normal.free_pages(), MemoryOrder::Relaxed);
    g_reserved_pages = g_total_pages - g_free_pages.load(MemoryOrder::Relaxed);
    log_info("mm", "page descriptors: %lu pages up to 0x%lx, array at 0x%lx (%lu KiB)", g_max_pfn,
             g_max_pfn << PAGE_SHIFT, array_phys, array_bytes / KiB);
}

static Atomic<PressureCallback> g_pressure_callback;
static Atomic<u64> g_low_watermark_pages{0};

void set_pressure_callback(PressureCallback callback, u64 low_watermark_pages)
{
    g_low_watermark_pages.store(low_watermark_pages, MemoryOrder::Relaxed);
    g_pressure_callback.store(callback, MemoryOrder::Release);
}

static void report_pressure()
{
    PressureCallback callback = g_pressure_callback.load(MemoryOrder::Acquire);
    if (callback)
        callback();
}

Page* alloc_pages(unsigned order, u32 flags)
{
    if (order > MAX_ORDER || !g_pages) [[unlikely]]
        return nullptr;
    if (should_fail_allocation()) [[unlikely]]
        return nullptr;
    Page* page;
    if (order == 0 && !(flags & ALLOC_DMA32)) {
        page = magazine_allocate();
    } else {
        SpinLockGuard guard(g_zone_lock);
        page = buddy_allocate(order, flags);
    }
    if (!page) [[unlikely]] {
        report_pressure();
        return nullptr;
    }
    const u64 free_after = g_free_pages.sub_fetch(u64(1) << order, MemoryOrder::Relaxed);
    if (free_after < g_low_watermark_pages.load(MemoryOrder::Relaxed)) [[unlikely]]
        report_pressure();
    page->flags.store(0, MemoryOrder::Relaxed);
    page->refcount.store(1, MemoryOrder::Relaxed);
    page->order = static_cast<u8>(order);
    if (flags & ALLOC_ZERO)
        memset(page_address(page), 0, PAGE_SIZE << order);
    return page;
}

void free_pages(Page* page, unsigned order)
{
    if (!page || page < g_pages || page >= g_pages + g_max_pfn || order > MAX_ORDER)
        panic("mm: free_pages(%p, %u): not a page descriptor", page, order);
    // A page in a magazine carries PAGE_CACHED rather than PAGE_FREE: without
    // checking it, an order-0 double free would put the page in a magazine
    // twice and hand it out to two owners.
    if (page->flags.load(MemoryOrder::Relaxed) & (PAGE_FREE | PAGE_CACHED | PAGE_RESERVED))
        panic("mm: free_pages(pfn 0x%lx, order %u): page is %s", page_to_phys(page) >> PAGE_SHIFT, order,
              (page->flags.load(MemoryOrder::Relaxed) & PAGE_RESERVED) ? "reserved" : "already free");
    if (page->order != order)
        panic("mm: free_pages(pfn 0x%lx, order %u): allocated with order %u", page_to_phys(page) >> PAGE_SHIFT,
              order, page->order);
    g_free_pages.fetch_add(u64(1) << order, MemoryOrder::Relaxed);
    page->flags.store(0, MemoryOrder::Relaxed);
    page->refcount.store(0, MemoryOrder::Relaxed);
    if (order == 0) {
        magazine_free(page);
        return;
    }
    SpinLockGuard guard(g_zone_lock);
    buddy_free(page, order);
}

void drain_page_magazine()
{
    bool irq = x86::save_and_disable_interrupts();
    PageCacheMagazine& magazine = this_magazine();
    {
        SpinLockGuard guard(g_zone_lock);
        while (magazine.count)
            magazine_release(magazine.pages[--magazine.count]);
    }
    x86::restore_interrupts(irq);
}

PhysAddr page_to_phys(const Page* page) { return static_cast<PhysAddr>(page - g_pages) << PAGE_SHIFT; }

Page* phys_to_page(PhysAddr phys)
{
    u64 pfn = phys >> PAGE_SHIFT;
    return pfn < g_max_pfn ? &g_pages[pfn] : nullptr;
}

void* page_address(const Page* page) { return phys_to_virt(page_to_phys(page)); }

Page* virt_to_page(const void* direct_map_address) { return phys_to_page(virt_to_phys(direct_map_address)); }

PageCounters page_counters()
{
    return {g_total_pages, g_free_pages.load(MemoryOrder::Relaxed), g_reserved_pages};
}

u64 max_pfn() { return g_max_pfn; }

} // namespace mm
