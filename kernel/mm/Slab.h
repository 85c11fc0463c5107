// Slab caches: fixed-size objects carved out of page blocks ("slabs").
//
// A slab is a 2^order page block from the page allocator. Its metadata lives
// in the Page descriptor of its first page (no header inside the slab, so
// power-of-two objects stay naturally aligned): `slab_freelist` heads a list
// threaded through the free objects, `slab_inuse` counts the objects handed
// out, `list` links the slab into one of its cache's lists. Every page of a
// slab carries PAGE_SLAB and `private_data` = its cache, so any object
// pointer leads back to its cache through virt_to_page().
//
// Slab states (the list it is on, under the cache's lock):
//   partial  some objects free  -> allocations come from here first
//   full     no object free
//   empty    all objects free; at most EMPTY_SLABS_KEPT are kept, the rest
//            go back to the page allocator at once
//
// In front of the slabs, each CPU keeps a small stack of free objects per
// cache (CpuObjectCache, touched only by its CPU with interrupts off), so the
// common allocate/free is a push or pop without the cache lock; it trades
// with the slabs in batches of CPU_CACHE_BATCH. Objects sitting in a CPU
// stack count as allocated for their slab (slab_inuse) but not in
// active_objects. shrink() drains every CPU's stack (cross-CPU call) first.
#pragma once

#include "arch/x86_64/PerCpu.h"
#include "kernel/lib/IntrusiveList.h"
#include "kernel/lib/Types.h"
#include "kernel/mm/Heap.h"
#include "kernel/mm/Page.h"
#include "kernel/sync/SpinLock.h"

namespace mm {

class SlabCache {
public:
    static constexpr usize NAME_LENGTH = 32;
    static constexpr u32 EMPTY_SLABS_KEPT = 1;
    static constexpr u32 CPU_CACHE_CAPACITY = 16;
    static constexpr u32 CPU_CACHE_BATCH = 8;

    // Constructors cannot fail: the geometry is computed here and checked by
    // the factory (slab_cache_create) with is_valid().
    SlabCache(const char* name, usize object_size, usize align, bool is_kmalloc);
    SlabCache(const SlabCache&) = delete;
    SlabCache& operator=(const SlabCache&) = delete;

    bool is_valid() const { return m_objects_per_slab > 0; }
    void* allocate();
    void free(void* object);
    // Drain the CPU stacks (on every CPU) and give every empty slab back to
    // the page allocator.
    void shrink();
    // Give this CPU's stack of free objects back to the slabs.
    void drain_this_cpu();
    // Give the empty slabs back to the page allocator (CPU stacks untouched).
    void release_empty_slabs();

    const char* name() const { return m_name; }
    usize object_size() const { return m_object_size; }
    bool is_kmalloc() const { return m_is_kmalloc; }
    unsigned slab_order() const { return m_slab_order; }
    SlabCounters counters();

    ListNode registry_node; // all caches (slab_counters), under the registry lock

private:
    using SlabList = IntrusiveList<Page, &Page::list>;

    struct CpuObjectCache {
        u32 count;
        void* objects[CPU_CACHE_CAPACITY];
    };

    Page* grow();                  // a new empty slab, or nullptr (lock held)
    void release_slab(Page* slab); // back to the page allocator (lock held)
    Page* slab_of(void* object) const;
    void* take_from_slabs();                        // lock held
    void return_to_slab(Page* slab, void* object); // lock held

    char m_name[NAME_LENGTH];
    usize m_object_size;
    unsigned m_slab_order = 0;
    u32 m_objects_per_slab = 0;
    bool m_is_kmalloc;

    SpinLock m_lock{LockRank::Heap, "slab cache"};
    // Guarded by m_lock:
    SlabList m_partial;
    SlabList m_full;
    SlabList m_empty;
    u32 m_empty_count = 0;
    u64 m_slabs = 0;

    Atomic<u64> m_active_objects{0}; // handed out to callers
    CpuObjectCache m_cpu_caches[MAX_CPUS] = {}; // each touched only by its CPU, interrupts off
};

// Give every cache's empty slabs back to the page allocator.
void slab_shrink_all();
// List a statically allocated cache (the kmalloc size classes) in slab_counters().
void slab_cache_register(SlabCache& cache);

} // namespace mm
