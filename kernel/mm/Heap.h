// The kernel heap: slab caches for fixed-size hot objects and kmalloc for the
// rest (size classes are slab caches too; large sizes go to the page allocator).
//
// kmalloc(n) returns memory aligned to the power of two it was rounded up to
// (at least 16 bytes, a whole page for n > 2048), so kmalloc(max(n, align))
// satisfies any power-of-two alignment. Callable with interrupts off; never
// sleeps; returns nullptr when memory runs out (or before mm::init).
#pragma once

#include "kernel/lib/Types.h"

void* kmalloc(usize size);
void* kzalloc(usize size);
void kfree(void* pointer); // kfree(nullptr) does nothing

namespace mm {

class SlabCache;

// Size classes: 16, 32, ..., 2048 bytes from slab caches ("kmalloc-16", ...);
// larger requests are 2^order page blocks (up to 4 MiB).
constexpr usize KMALLOC_MIN_SIZE = 16;
constexpr usize KMALLOC_MAX_SLAB_SIZE = 2048;

// A named cache of objects of one size (shown with its counters in tests and,
// later, /proc/slabinfo). `align` must be a power of two. nullptr on failure.
SlabCache* slab_cache_create(const char* name, usize object_size, usize align = 8);
void* slab_alloc(SlabCache* cache);
void slab_free(SlabCache* cache, void* object); // slab_free(cache, nullptr) does nothing

struct SlabCounters {
    const char* name;
    usize object_size;
    u64 active_objects; // allocated and not freed
    u64 total_objects;  // capacity of the slabs the cache holds
    u64 slabs;
};
// Fills up to `max` entries; returns how many caches exist.
usize slab_counters(SlabCounters* out, usize max);
u64 heap_allocated_bytes(); // live kmalloc bytes (each allocation counted at its size class)

} // namespace mm
