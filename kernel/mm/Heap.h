// The kernel heap: slab caches for fixed-size hot objects and kmalloc for the
// rest (size classes are slab caches too; large sizes go to the page allocator).
#pragma once

#include "kernel/lib/Types.h"

void* kmalloc(usize size);
void* kzalloc(usize size);
void kfree(void* pointer);

namespace mm {

class SlabCache;

// A named cache of objects of one size (shown with its counters in tests and,
// later, /proc/slabinfo).
SlabCache* slab_cache_create(const char* name, usize object_size, usize align = 8);
void* slab_alloc(SlabCache* cache);
void slab_free(SlabCache* cache, void* object);

struct SlabCounters {
    const char* name;
    usize object_size;
    u64 active_objects; // allocated and not freed
    u64 total_objects;  // capacity of the slabs the cache holds
    u64 slabs;
};
// Fills up to `max` entries; returns how many caches exist.
usize slab_counters(SlabCounters* out, usize max);
u64 heap_allocated_bytes(); // live kmalloc bytes

} // namespace mm
