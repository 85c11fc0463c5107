// ktest suite "mm": page allocator, slab caches, kmalloc, kernel page tables.
#include "arch/x86_64/Cpu.h"
#include "arch/x86_64/PerCpu.h"
#include "kernel/lib/Atomic.h"
#include "kernel/sched/Thread.h"
#include "kernel/lib/String.h"
#include "kernel/mm/DirectMap.h"
#include "kernel/mm/Heap.h"
#include "kernel/mm/PageAllocator.h"
#include "kernel/mm/Slab.h"
#include "arch/x86_64/mm/KernelStack.h"
#include "tests/ktest/Ktest.h"

namespace {

// A small xorshift generator: deterministic, so a failure reproduces.
struct Random {
    u64 state;
    u64 next()
    {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        return state;
    }
    u64 below(u64 bound) { return next() % bound; }
};

u8 pattern_byte(u64 seed, usize i) { return static_cast<u8>((seed * 0x9e3779b97f4a7c15ul + i * 131) >> 24); }

void fill(void* memory, usize size, u64 seed)
{
    u8* bytes = static_cast<u8*>(memory);
    // Patterns at both ends and in the middle: cheap under TCG, still catches overlap.
    usize step = size > 256 ? size / 64 : 1;
    for (usize i = 0; i < size; i += step)
        bytes[i] = pattern_byte(seed, i);
    bytes[size - 1] = pattern_byte(seed, size - 1);
}

bool check(const void* memory, usize size, u64 seed)
{
    const u8* bytes = static_cast<const u8*>(memory);
    usize step = size > 256 ? size / 64 : 1;
    for (usize i = 0; i < size; i += step) {
        if (bytes[i] != pattern_byte(seed, i))
            return false;
    }
    return bytes[size - 1] == pattern_byte(seed, size - 1);
}

} // namespace

KTEST(mm, pages_are_aligned_and_counted)
{
    mm::PageCounters before = mm::page_counters();
    for (unsigned order = 0; order <= mm::MAX_ORDER; order++) {
        Page* page = mm::alloc_pages(order);
        KASSERT(page != nullptr);
        KEXPECT(is_aligned(mm::page_to_phys(page), PhysAddr(PAGE_SIZE) << order));
        KEXPECT_EQ(mm::page_counters().free, before.free - (u64(1) << order));
        KEXPECT(mm::phys_to_page(mm::page_to_phys(page)) == page);
        KEXPECT(mm::virt_to_page(mm::page_address(page)) == page);
        fill(mm::page_address(page), PAGE_SIZE << order, order);
        KEXPECT(check(mm::page_address(page), PAGE_SIZE << order, order));
        mm::free_pages(page, order);
    }
    KEXPECT_EQ(mm::page_counters().free, before.free);
    KEXPECT_EQ(mm::page_counters().total, before.total);
}

// An order-0 page freed into this CPU's magazine must be recognisable as
// free (PAGE_CACHED), which is what lets free_pages() panic on a second free
// instead of caching the page twice and handing it to two owners.
KTEST(mm, freed_order0_page_is_marked_free_in_the_magazine)
{
    bool irq = x86::save_and_disable_interrupts(); // stay on this CPU's magazine
    Page* page = mm::alloc_page();
    bool allocated = page != nullptr;
    u32 flags_allocated = allocated ? page->flags.load(MemoryOrder::Relaxed) : 0;
    u32 flags_freed = 0;
    u32 flags_drained = 0;
    if (allocated) {
        mm::free_page(page);
        flags_freed = page->flags.load(MemoryOrder::Relaxed); // still in the magazine: nothing ran in between
        // Draining gives it back to the buddy lists, which mark only block heads.
        mm::drain_page_magazine();
        flags_drained = page->flags.load(MemoryOrder::Relaxed);
    }
    x86::restore_interrupts(irq);
    KASSERT(allocated);
    KEXPECT_EQ(flags_allocated & PAGE_CACHED, 0u);
    KEXPECT((flags_freed & (PAGE_FREE | PAGE_CACHED)) != 0);
    KEXPECT_EQ(flags_drained & PAGE_CACHED, 0u);
}

KTEST(mm, zeroed_and_dma32_pages)
{
    Page* page = mm::alloc_pages(1, mm::ALLOC_ZERO | mm::ALLOC_DMA32);
    KASSERT(page != nullptr);
    KEXPECT(mm::page_to_phys(page) + 2 * PAGE_SIZE <= 4 * GiB);
    const u8* bytes = static_cast<const u8*>(mm::page_address(page));
    bool all_zero = true;
    for (usize i = 0; i < 2 * PAGE_SIZE; i++)
        all_zero &= bytes[i] == 0;
    KEXPECT(all_zero);
    mm::free_pages(page, 1);
}

KTEST(mm, kmalloc_size_classes)
{
    u64 heap_before = mm::heap_allocated_bytes();
    static const usize sizes[] = {1, 8, 16, 17, 100, 128, 500, 1024, 2000, 2048, 2049, 4096, 10000, 1 << 20};
    void* blocks[ARRAY_SIZE(sizes)];
    for (usize i = 0; i < ARRAY_SIZE(sizes); i++) {
        blocks[i] = kmalloc(sizes[i]);
        KASSERT(blocks[i] != nullptr);
        // Aligned to the power of two the size rounds up to (capped at a page).
        usize align = 16;
        while (align < sizes[i] && align < PAGE_SIZE)
            align <<= 1;
        KEXPECT(is_aligned(reinterpret_cast<uptr>(blocks[i]), align));
        fill(blocks[i], sizes[i], i);
    }
    KEXPECT(mm::heap_allocated_bytes() > heap_before);
    for (usize i = 0; i < ARRAY_SIZE(sizes); i++) {
        KEXPECT(check(blocks[i], sizes[i], i));
        kfree(blocks[i]);
    }
    KEXPECT_EQ(mm::heap_allocated_bytes(), heap_before);
    kfree(nullptr);
}

// A size that wraps when rounded up to pages must fail, not return a page
// (a caller that computed the size from user input would overrun it).
KTEST(mm, kmalloc_rejects_sizes_that_wrap)
{
    u64 heap_before = mm::heap_allocated_bytes();
    static const usize sizes[] = {~usize(0), ~usize(0) - PAGE_SIZE + 2, (PAGE_SIZE << mm::MAX_ORDER) + 1};
    for (usize size : sizes) {
        void* block = kmalloc(size);
        KEXPECT(block == nullptr);
        kfree(block);
    }
    KEXPECT_EQ(mm::heap_allocated_bytes(), heap_before);
}

KTEST(mm, new_and_delete)
{
    struct Thing {
        u64 a = 1;
        u64 b = 2;
    };
    u64 heap_before = mm::heap_allocated_bytes();
    Thing* thing = new Thing;
    KASSERT(thing != nullptr);
    KEXPECT_EQ(thing->b, 2ul);
    u32* array = new u32[1000];
    KASSERT(array != nullptr);
    array[999] = 7;
    struct alignas(256) Aligned {
        u8 bytes[40];
    };
    Aligned* aligned = new Aligned;
    KASSERT(aligned != nullptr);
    KEXPECT(is_aligned(reinterpret_cast<uptr>(aligned), uptr(256)));
    Aligned* aligned_array = new Aligned[3];
    KASSERT(aligned_array != nullptr);
    KEXPECT(is_aligned(reinterpret_cast<uptr>(aligned_array), uptr(256)));
    delete thing;
    delete[] array;
    delete aligned;
    delete[] aligned_array;
    KEXPECT_EQ(mm::heap_allocated_bytes(), heap_before);
}

KTEST(mm, slab_cache_counters)
{
    mm::SlabCache* cache = mm::slab_cache_create("ktest-obj-72", 72, 8);
    KASSERT(cache != nullptr);
    constexpr usize COUNT = 200;
    void* objects[COUNT];
    for (usize i = 0; i < COUNT; i++) {
        objects[i] = mm::slab_alloc(cache);
        KASSERT(objects[i] != nullptr);
        memset(objects[i], static_cast<int>(i), 72);
    }
    mm::SlabCounters counters[64];
    usize caches = mm::slab_counters(counters, ARRAY_SIZE(counters));
    bool found = false;
    for (usize i = 0; i < min(caches, ARRAY_SIZE(counters)); i++) {
        if (strcmp(counters[i].name, "ktest-obj-72") != 0)
            continue;
        found = true;
        KEXPECT_EQ(counters[i].active_objects, u64(COUNT));
        KEXPECT(counters[i].total_objects >= COUNT);
        KEXPECT(counters[i].slabs >= 1);
    }
    KEXPECT(found);
    for (usize i = 0; i < COUNT; i++) {
        KEXPECT_EQ(static_cast<const u8*>(objects[i])[71], static_cast<u8>(i));
        mm::slab_free(cache, objects[i]);
    }
    KEXPECT_EQ(cache->counters().active_objects, 0ul);
    cache->shrink();
    KEXPECT_EQ(cache->counters().slabs, 0ul);
}

// ---- Allocator stress ---------------------------------------------------------

namespace {

struct StressSlot {
    void* memory;
    Page* page;
    usize size;
    unsigned order;
    u64 seed;
};

void release(StressSlot& slot)
{
    if (slot.page)
        mm::free_pages(slot.page, slot.order);
    else
        kfree(slot.memory);
    slot = {};
}

// `operations` random steps over `slot_count` slots: an empty slot gets a new
// block (pages of any order, mostly small; kmalloc of 1 byte to 64 KiB), a
// full one is checked and freed. Every block carries a pattern derived from
// its own seed, so overlapping blocks or a stray write show up as a mismatch.
// Returns the number of corrupted blocks; frees everything before returning.
u64 run_stress(u64 seed, usize operations, StressSlot* slots, usize slot_count)
{
    Random random{seed | 1};
    u64 failures = 0;
    for (usize op = 0; op < operations; op++) {
        StressSlot& slot = slots[random.below(slot_count)];
        if (slot.memory) {
            if (!check(slot.memory, slot.size, slot.seed))
                failures++;
            release(slot);
            continue;
        }
        slot.seed = random.next();
        u64 kind = random.below(16);
        if (kind < 3) {
            slot.order = static_cast<unsigned>(random.below(16) == 0 ? random.below(mm::MAX_ORDER + 1)
                                                                      : random.below(3));
            slot.page = mm::alloc_pages(slot.order);
            if (!slot.page) {
                slot = {};
                continue;
            }
            slot.memory = mm::page_address(slot.page);
            slot.size = PAGE_SIZE << slot.order;
        } else {
            slot.size = kind < 14 ? 1 + random.below(2048) : 2049 + random.below(64 * KiB);
            slot.memory = kmalloc(slot.size);
            if (!slot.memory) {
                slot = {};
                continue;
            }
        }
        fill(slot.memory, slot.size, slot.seed);
    }
    for (usize i = 0; i < slot_count; i++) {
        if (!slots[i].memory)
            continue;
        if (!check(slots[i].memory, slots[i].size, slots[i].seed))
            failures++;
        release(slots[i]);
    }
    return failures;
}

constexpr usize STRESS_SLOTS = 512;

struct Baseline {
    mm::PageCounters pages;
    u64 heap_bytes;

    static Baseline take()
    {
        mm::slab_shrink_all();
        return {mm::page_counters(), mm::heap_allocated_bytes()};
    }
};

#define KEXPECT_BACK_TO(baseline)                                                                  \
    do {                                                                                           \
        KEXPECT_EQ(mm::heap_allocated_bytes(), (baseline).heap_bytes);                             \
        mm::slab_shrink_all();                                                                     \
        mm::PageCounters now = mm::page_counters();                                                \
        KEXPECT_EQ(now.free, (baseline).pages.free);                                               \
        KEXPECT_EQ(now.total, (baseline).pages.total);                                             \
        KEXPECT_EQ(now.reserved, (baseline).pages.reserved);                                       \
    } while (0)

} // namespace

KTEST(mm, stress_mixed_sizes)
{
    Baseline baseline = Baseline::take();
    auto* slots = static_cast<StressSlot*>(kzalloc(STRESS_SLOTS * sizeof(StressSlot)));
    KASSERT(slots != nullptr);
    KEXPECT_EQ(run_stress(0x5eed5eed, 300000, slots, STRESS_SLOTS), 0ul);
    kfree(slots);
    KEXPECT_BACK_TO(baseline);
}

namespace {

struct AllCpuStress {
    usize operations_per_cpu;
    u64 failures;       // atomic
    u32 cpus_ran;       // atomic
    bool out_of_memory; // atomic
    bool wrong_cpu;     // atomic
};

void stress_on_this_cpu(AllCpuStress& run, u32 cpu)
{
    auto* slots = static_cast<StressSlot*>(kzalloc(STRESS_SLOTS * sizeof(StressSlot)));
    if (!slots) {
        AtomicRef(run.out_of_memory).store(true, MemoryOrder::Relaxed);
        return;
    }
    u64 failures = run_stress(0x9e3779b97f4a7c15ul * (cpu + 1), run.operations_per_cpu, slots, STRESS_SLOTS);
    kfree(slots);
    if (current_cpu_index() != cpu)
        AtomicRef(run.wrong_cpu).store(true, MemoryOrder::Relaxed);
    AtomicRef(run.failures).fetch_add(failures, MemoryOrder::Relaxed);
    AtomicRef(run.cpus_ran).fetch_add(1u, MemoryOrder::Relaxed);
}

} // namespace

// The same workload on every CPU at once, one thread pinned to each (with
// interrupts and preemption on): the zone lock, the per-CPU page magazines
// and slab stacks, and the slab locks under contention. Two million
// operations in all, split over the CPUs; counters must still add up exactly.
KTEST(mm, stress_all_cpus)
{
    Baseline baseline = Baseline::take();
    u32 cpus = max(sched::cpu_count(), 1u);
    AllCpuStress run{2000000 / cpus, 0, 0, false, false};
    Thread* threads[MAX_CPUS] = {};
    for (u32 cpu = 0; cpu < cpus; cpu++) {
        AllCpuStress* shared = &run;
        auto created = Thread::create("mm-stress", [shared, cpu] { stress_on_this_cpu(*shared, cpu); },
                                      {.pin_cpu = cpu});
        KASSERT(!created.is_error());
        threads[cpu] = created.value();
    }
    for (u32 cpu = 0; cpu < cpus; cpu++)
        threads[cpu]->start();
    for (u32 cpu = 0; cpu < cpus; cpu++)
        threads[cpu]->join();
    KEXPECT(!run.out_of_memory);
    KEXPECT(!run.wrong_cpu);
    KEXPECT_EQ(run.failures, 0ul);
    KEXPECT_EQ(run.cpus_ran, cpus);
    KEXPECT_BACK_TO(baseline);
}

// ---- Page tables -------------------------------------------------------------

#include "arch/x86_64/Cpu.h"
#include "arch/x86_64/boot/Layout.h"
#include "arch/x86_64/mm/Mmio.h"
#include "arch/x86_64/mm/Paging.h"

extern "C" char __text_start[];
extern "C" char __rodata_start[];

namespace {

int g_data_object = 1;
const int g_rodata_object = 2;

} // namespace

KTEST(mm, kernel_image_permissions)
{
    mm::PageTable& kernel = mm::kernel_page_table();
    // Text: executable, read-only (a write would fault: CR0.WP makes ring 0 honour R/W).
    mm::Translation text = kernel.translate(reinterpret_cast<uptr>(&ktest_mm_kernel_image_permissions));
    KASSERT(text.is_mapped());
    KEXPECT(text.is_executable());
    KEXPECT(!text.is_writable());
    KEXPECT(text.is_global());
    KEXPECT_EQ(text.phys, virt_to_phys(reinterpret_cast<void*>(&ktest_mm_kernel_image_permissions)));
    KEXPECT(x86::read_cr0() & (1ul << 16)); // CR0.WP

    mm::Translation rodata = kernel.translate(reinterpret_cast<uptr>(&g_rodata_object));
    KASSERT(rodata.is_mapped());
    KEXPECT(!rodata.is_writable());
    KEXPECT(!rodata.is_executable() || !mm::cpu_has_nx());

    mm::Translation data = kernel.translate(reinterpret_cast<uptr>(&g_data_object));
    KASSERT(data.is_mapped());
    KEXPECT(data.is_writable());
    KEXPECT(!data.is_executable() || !mm::cpu_has_nx());

    // The direct-map alias of the text is read-only too.
    mm::Translation alias = kernel.translate(DIRECT_MAP_BASE + virt_to_phys(__text_start));
    KASSERT(alias.is_mapped());
    KEXPECT(!alias.is_writable());
    KEXPECT_EQ(alias.phys, virt_to_phys(__text_start));
}

KTEST(mm, heap_and_direct_map_are_not_executable)
{
    KASSERT(mm::cpu_has_nx());
    KEXPECT(x86::rdmsr(0xc0000080) & (1ul << 11)); // EFER.NXE
    void* object = kmalloc(64);
    KASSERT(object != nullptr);
    mm::Translation heap = mm::kernel_page_table().translate(reinterpret_cast<uptr>(object));
    KEXPECT(heap.is_mapped());
    KEXPECT(heap.is_writable());
    KEXPECT(!heap.is_executable());
    KEXPECT(!heap.is_user());
    KEXPECT_EQ(heap.phys, virt_to_phys(object));
    kfree(object);

    // The last RAM page is in the direct map as well.
    PhysAddr last = (mm::max_pfn() - 1) << PAGE_SHIFT;
    mm::Translation top = mm::kernel_page_table().translate(DIRECT_MAP_BASE + last);
    KEXPECT(top.is_mapped());
    KEXPECT_EQ(top.phys, last);
}

KTEST(mm, low_identity_map_and_null_page)
{
    mm::PageTable& kernel = mm::kernel_page_table();
    KEXPECT(!kernel.translate(0).is_mapped());
    // SMP bring-up (smp::init) drops the low identity map once every AP is
    // online, so by the time tests run the trampoline page is only in the
    // direct map.
    KEXPECT(!kernel.translate(0x8000).is_mapped());
    mm::Translation direct = kernel.translate(reinterpret_cast<uptr>(phys_to_virt(0x8000)));
    KASSERT(direct.is_mapped());
    KEXPECT_EQ(direct.phys, 0x8000ul);
    KEXPECT(!direct.is_executable());
}

KTEST(mm, map_mmio_reads_lapic_version)
{
    constexpr PhysAddr LAPIC_BASE = 0xfee00000;
    constexpr usize LAPIC_VERSION = 0x30; // SDM Vol. 3A §11.4.8
    void* mapping = mm::map_mmio(LAPIC_BASE, PAGE_SIZE);
    KASSERT(mapping != nullptr);
    uptr virt = reinterpret_cast<uptr>(mapping);
    KEXPECT(virt >= MMIO_WINDOW_BASE);
    mm::Translation entry = mm::kernel_page_table().translate(virt);
    KEXPECT(entry.is_mapped());
    KEXPECT(entry.is_uncached());
    KEXPECT(!entry.is_executable());
    KEXPECT_EQ(entry.phys, LAPIC_BASE);
    // In x2APIC mode (IA32_APIC_BASE.EXTD) the MMIO page is not decoded.
    bool x2apic = x86::rdmsr(0x1b) & (1ul << 10);
    if (!x2apic) {
        u32 version = *reinterpret_cast<volatile u32*>(virt + LAPIC_VERSION);
        // Integrated local APICs report 0x1X (§11.4.8, Figure 11-7).
        KEXPECT_EQ(version & 0xf0, 0x10u);
    }
    mm::unmap_mmio(mapping, PAGE_SIZE);
    KEXPECT(!mm::kernel_page_table().translate(virt).is_mapped());

    // An unaligned request keeps the offset.
    auto* unaligned = static_cast<u8*>(mm::map_mmio(LAPIC_BASE + LAPIC_VERSION, 4));
    KASSERT(unaligned != nullptr);
    KEXPECT_EQ(reinterpret_cast<uptr>(unaligned) & (PAGE_SIZE - 1), LAPIC_VERSION);
    mm::unmap_mmio(unaligned, 4);
}

// The general page-table code, on a scratch address space (never loaded in
// CR3, only walked): large pages, splitting, protect, unmap, EEXIST.
KTEST(mm, page_table_map_protect_unmap)
{
    mm::slab_shrink_all();
    mm::PageCounters before = mm::page_counters();
    auto created = mm::PageTable::create_address_space();
    KASSERT(!created.is_error());
    mm::PageTable* table = created.value();
    constexpr uptr VIRT = 0x40000000; // 1 GiB, 2 MiB aligned
    constexpr PhysAddr PHYS = 0x200000; // any RAM: never accessed through this table
    KASSERT(!table->map(VIRT, PHYS, 4 * MiB, mm::MAP_WRITE, mm::PAGE_SIZE_2M).is_error());

    mm::Translation big = table->translate(VIRT + 0x1234);
    KEXPECT_EQ(big.page_size, mm::PAGE_SIZE_2M);
    KEXPECT_EQ(big.phys, PHYS + 0x1234);
    KEXPECT(big.is_writable());
    KEXPECT(big.is_user() == false);
    KEXPECT(table->map(VIRT + 2 * MiB, PHYS, PAGE_SIZE, mm::MAP_WRITE).error() == Error::from_errno(EEXIST));

    // Protect one 4 KiB page in the middle of the first 2 MiB page: split.
    KASSERT(!table->protect(VIRT + 5 * PAGE_SIZE, PAGE_SIZE, mm::MAP_READ).is_error());
    mm::Translation small = table->translate(VIRT + 5 * PAGE_SIZE + 8);
    KEXPECT_EQ(small.page_size, PAGE_SIZE);
    KEXPECT_EQ(small.phys, PHYS + 5 * PAGE_SIZE + 8);
    KEXPECT(!small.is_writable());
    mm::Translation neighbour = table->translate(VIRT + 6 * PAGE_SIZE);
    KEXPECT_EQ(neighbour.page_size, PAGE_SIZE);
    KEXPECT(neighbour.is_writable());
    KEXPECT_EQ(neighbour.phys, PHYS + 6 * PAGE_SIZE);
    KEXPECT_EQ(table->translate(VIRT + 3 * MiB).page_size, mm::PAGE_SIZE_2M); // untouched

    // Unmap across the split page and into the second large page.
    KASSERT(!table->unmap(VIRT + 1 * MiB, 2 * MiB).is_error());
    KEXPECT(!table->translate(VIRT + 1 * MiB).is_mapped());
    KEXPECT(!table->translate(VIRT + 3 * MiB - PAGE_SIZE).is_mapped());
    KEXPECT_EQ(table->translate(VIRT + 1 * MiB - PAGE_SIZE).phys, PHYS + 1 * MiB - PAGE_SIZE);
    KEXPECT_EQ(table->translate(VIRT + 3 * MiB).phys, PHYS + 3 * MiB);
    // The hole can be mapped again.
    KEXPECT(!table->map(VIRT + 1 * MiB, PHYS, PAGE_SIZE, mm::MAP_USER).is_error());
    KEXPECT(table->translate(VIRT + 1 * MiB).is_user());

    // The kernel half is shared with the kernel page table.
    mm::Translation kernel_text = table->translate(reinterpret_cast<uptr>(__text_start));
    KEXPECT(kernel_text.is_mapped());
    KEXPECT_EQ(kernel_text.phys, virt_to_phys(__text_start));

    mm::PageTable::destroy_address_space(table);
    mm::slab_shrink_all(); // the PageTable object's slab
    KEXPECT_EQ(mm::page_counters().free, before.free);
}

// Defect: index_of() ignored bits 63:48, so a non-canonical address mapped
// (and translated) as its canonical alias, and virt + size - 1 could wrap.
KTEST(mm, page_table_rejects_non_canonical_and_wrapping_ranges)
{
    mm::slab_shrink_all();
    mm::PageCounters before = mm::page_counters();
    auto created = mm::PageTable::create_address_space();
    KASSERT(!created.is_error());
    mm::PageTable* table = created.value();
    constexpr PhysAddr PHYS = 0x200000;
    constexpr uptr NON_CANONICAL = 0x0001'0000'0000'0000; // bit 48 set, 47 clear: aliases 0
    constexpr uptr LOWER_TOP = 0x0000'8000'0000'0000;      // first address past the lower half
    const auto einval = Error::from_errno(EINVAL);

    KEXPECT(table->map(NON_CANONICAL, PHYS, PAGE_SIZE, mm::MAP_WRITE).error() == einval);
    KEXPECT(table->map(LOWER_TOP, PHYS, PAGE_SIZE, mm::MAP_WRITE).error() == einval);
    // Ends past the lower half (last page non-canonical).
    KEXPECT(table->map(LOWER_TOP - PAGE_SIZE, PHYS, 2 * PAGE_SIZE, mm::MAP_WRITE).error() == einval);
    // Wraps past 2^64 back to 0.
    KEXPECT(table->map(~uptr(0) - PAGE_SIZE + 1, PHYS, 2 * PAGE_SIZE, mm::MAP_WRITE).error() == einval);
    KEXPECT(table->unmap(~uptr(0) - PAGE_SIZE + 1, 2 * PAGE_SIZE).error() == einval);
    KEXPECT(table->protect(NON_CANONICAL, PAGE_SIZE, mm::MAP_READ).error() == einval);
    KEXPECT(!mm::PageTable::is_valid_range(0, LOWER_TOP + PAGE_SIZE)); // across the hole
    KEXPECT(mm::PageTable::is_valid_range(~uptr(0) - PAGE_SIZE + 1, PAGE_SIZE)); // ends at the top: fine
    KEXPECT(mm::PageTable::is_valid_range(LOWER_TOP - PAGE_SIZE, PAGE_SIZE));

    // A canonical mapping is not visible through a non-canonical alias.
    KASSERT(!table->map(0, PHYS, PAGE_SIZE, mm::MAP_WRITE).is_error());
    KEXPECT(table->translate(0).is_mapped());
    KEXPECT(!table->translate(NON_CANONICAL).is_mapped());

    mm::PageTable::destroy_address_space(table);
    mm::slab_shrink_all();
    KEXPECT_EQ(mm::page_counters().free, before.free);
}

// Thread stacks are mapped in the kernel stack area above an unmapped guard
// page, and a stack buffer's physical address is still known (DMA from it).
KTEST(mm, kernel_stacks_have_guard_pages)
{
    volatile u64 local = 42;
    const uptr address = reinterpret_cast<uptr>(&local);
    KASSERT(mm::in_kernel_stack_area(address));
    Thread* self = current_thread();
    KASSERT(self);
    const uptr bottom = self->stack_top() - Thread::STACK_SIZE;
    KEXPECT(address >= bottom && address < self->stack_top());
    mm::PageTable& kernel = mm::kernel_page_table();
    KEXPECT(kernel.translate(bottom).is_mapped());
    KEXPECT(!kernel.translate(bottom - PAGE_SIZE).is_mapped()); // the guard
    usize slot = 0;
    KEXPECT(mm::kernel_stack_guard_slot(bottom - 8, &slot));
    KEXPECT(!mm::kernel_stack_guard_slot(bottom, &slot));
    KEXPECT_EQ(virt_to_phys(const_cast<u64*>(&local)), kernel.translate(address).phys);
}

// A live kernel mapping at the very last page of the address space (the range
// end wraps to 0): map a fresh page there, write through it, read the same
// bytes through the direct map, unmap.
KTEST(mm, kernel_mapping_at_top_of_address_space)
{
    constexpr uptr TOP_PAGE = ~uptr(0) - PAGE_SIZE + 1;
    mm::PageTable& kernel = mm::kernel_page_table();
    KASSERT(!kernel.translate(TOP_PAGE).is_mapped());
    Page* page = mm::alloc_page(mm::ALLOC_ZERO);
    KASSERT(page != nullptr);
    KASSERT(!kernel.map(TOP_PAGE, mm::page_to_phys(page), PAGE_SIZE, mm::MAP_WRITE).is_error());
    mm::Translation entry = kernel.translate(TOP_PAGE + 0x10);
    KEXPECT_EQ(entry.phys, mm::page_to_phys(page) + 0x10);
    KEXPECT(!entry.is_executable());
    *reinterpret_cast<volatile u64*>(TOP_PAGE + 0x10) = 0x1234abcd;
    KEXPECT_EQ(static_cast<u64*>(mm::page_address(page))[2], 0x1234abcdul);
    KEXPECT(kernel.map(TOP_PAGE, mm::page_to_phys(page), PAGE_SIZE, mm::MAP_WRITE).error() ==
            Error::from_errno(EEXIST));
    KEXPECT(!kernel.unmap(TOP_PAGE, PAGE_SIZE).is_error());
    KEXPECT(!kernel.translate(TOP_PAGE).is_mapped());
    mm::free_page(page);
}
