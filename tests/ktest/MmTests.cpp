// ktest suite "mm": page allocator, slab caches, kmalloc, kernel page tables.
#include "kernel/lib/String.h"
#include "kernel/mm/DirectMap.h"
#include "kernel/mm/Heap.h"
#include "kernel/mm/PageAllocator.h"
#include "kernel/mm/Slab.h"
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
    delete thing;
    delete[] array;
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

// Mixed pages and kmalloc blocks of every size with content checks; the
// counters must come back to their start values.
KTEST(mm, stress_mixed_sizes)
{
    mm::slab_shrink_all();
    mm::PageCounters pages_before = mm::page_counters();
    u64 heap_before = mm::heap_allocated_bytes();

    constexpr usize SLOTS = 512;
    constexpr usize OPERATIONS = 200000;
    struct Slot {
        void* memory;
        Page* page;
        usize size;
        unsigned order;
        u64 seed;
    };
    static Slot slots[SLOTS];
    Random random{0x5eed5eed};
    u64 failures = 0;
    for (usize op = 0; op < OPERATIONS; op++) {
        Slot& slot = slots[random.below(SLOTS)];
        if (slot.memory) {
            if (!check(slot.memory, slot.size, slot.seed))
                failures++;
            if (slot.page)
                mm::free_pages(slot.page, slot.order);
            else
                kfree(slot.memory);
            slot = {};
            continue;
        }
        slot.seed = random.next();
        u64 kind = random.below(16);
        if (kind < 3) {
            // Pages, mostly small orders.
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
    for (Slot& slot : slots) {
        if (!slot.memory)
            continue;
        if (!check(slot.memory, slot.size, slot.seed))
            failures++;
        if (slot.page)
            mm::free_pages(slot.page, slot.order);
        else
            kfree(slot.memory);
        slot = {};
    }
    KEXPECT_EQ(failures, 0ul);
    KEXPECT_EQ(mm::heap_allocated_bytes(), heap_before);
    mm::slab_shrink_all();
    mm::PageCounters pages_after = mm::page_counters();
    KEXPECT_EQ(pages_after.free, pages_before.free);
    KEXPECT_EQ(pages_after.total, pages_before.total);
    KEXPECT_EQ(pages_after.reserved, pages_before.reserved);
}
