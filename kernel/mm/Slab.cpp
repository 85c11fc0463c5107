#include "kernel/mm/Slab.h"

#include "arch/x86_64/Cpu.h"
#include "kernel/debug/Panic.h"
#include "kernel/irq/Ipi.h"
#include "kernel/lib/Atomic.h"
#include "kernel/lib/String.h"
#include "kernel/lib/Utility.h"
#include "kernel/mm/DirectMap.h"
#include "kernel/mm/FailInjection.h"
#include "kernel/mm/PageAllocator.h"

namespace mm {
namespace {

constexpr usize MIN_OBJECT_SIZE = sizeof(void*); // a free object holds the freelist link
constexpr u32 TARGET_OBJECTS_PER_SLAB = 8;
constexpr unsigned MAX_SLAB_ORDER = 5; // 128 KiB: larger objects belong to the page allocator
#ifdef SLUICE_KERNEL_DEBUG
constexpr u8 FREE_POISON = 0x6b; // freed objects, so use-after-free reads stand out
#endif

SpinLock g_registry_lock{LockRank::Registry, "slab registry"};
IntrusiveList<SlabCache, &SlabCache::registry_node>* g_registry; // guarded by g_registry_lock
alignas(IntrusiveList<SlabCache, &SlabCache::registry_node>) unsigned char
    g_registry_storage[sizeof(IntrusiveList<SlabCache, &SlabCache::registry_node>)];

auto& registry()
{
    // Built on first use: caches are created before and after global constructors run.
    if (!g_registry)
        g_registry = new (g_registry_storage) IntrusiveList<SlabCache, &SlabCache::registry_node>();
    return *g_registry;
}

void register_cache(SlabCache& cache)
{
    SpinLockGuard guard(g_registry_lock);
    registry().push_back(cache);
}

} // namespace

SlabCache::SlabCache(const char* name, usize object_size, usize align, bool is_kmalloc)
    : m_is_kmalloc(is_kmalloc)
{
    usize i = 0;
    for (; name[i] && i + 1 < NAME_LENGTH; i++)
        m_name[i] = name[i];
    m_name[i] = '\0';

    align = max(align, MIN_OBJECT_SIZE);
    if (align & (align - 1))
        return; // not a power of two: invalid
    m_object_size = align_up(max(object_size, MIN_OBJECT_SIZE), align);
    // The smallest slab that holds TARGET_OBJECTS_PER_SLAB objects, or failing
    // that the largest allowed one that holds at least one.
    for (unsigned order = 0; order <= MAX_SLAB_ORDER; order++) {
        usize objects = (PAGE_SIZE << order) / m_object_size;
        if (objects == 0)
            continue;
        m_slab_order = order;
        m_objects_per_slab = static_cast<u32>(objects);
        if (objects >= TARGET_OBJECTS_PER_SLAB)
            break;
    }
}

Page* SlabCache::grow()
{
    Page* slab = alloc_pages(m_slab_order);
    if (!slab)
        return nullptr;
    for (usize i = 0; i < (usize(1) << m_slab_order); i++) {
        slab[i].flags.fetch_or(PAGE_SLAB, MemoryOrder::Relaxed);
        slab[i].private_data = this;
    }
    // Thread the freelist through the objects in address order.
    u8* base = static_cast<u8*>(page_address(slab));
    for (u32 i = 0; i + 1 < m_objects_per_slab; i++)
        *reinterpret_cast<void**>(base + i * m_object_size) = base + (i + 1) * m_object_size;
    *reinterpret_cast<void**>(base + (m_objects_per_slab - 1) * m_object_size) = nullptr;
    slab->slab_freelist = base;
    slab->slab_inuse = 0;
    m_slabs++;
    return slab;
}

void SlabCache::release_slab(Page* slab)
{
    for (usize i = 0; i < (usize(1) << m_slab_order); i++) {
        slab[i].flags.fetch_and(~PAGE_SLAB, MemoryOrder::Relaxed);
        slab[i].private_data = nullptr;
    }
    slab->slab_freelist = nullptr;
    m_slabs--;
    free_pages(slab, m_slab_order);
}

Page* SlabCache::slab_of(void* object) const
{
    Page* page = virt_to_page(object);
    if (!page || !(page->flags.load(MemoryOrder::Relaxed) & PAGE_SLAB) || page->private_data != this)
        panic("slab %s: free of %p, which is not one of its objects", m_name, object);
    PhysAddr slab_phys = align_down(virt_to_phys(object), PhysAddr(PAGE_SIZE) << m_slab_order);
    Page* slab = phys_to_page(slab_phys);
    usize offset = virt_to_phys(object) - slab_phys;
    if (offset % m_object_size != 0 || offset / m_object_size >= m_objects_per_slab)
        panic("slab %s: free of %p, which is not the start of an object", m_name, object);
    return slab;
}

void* SlabCache::take_from_slabs()
{
    Page* slab = m_partial.first();
    if (!slab) {
        slab = m_empty.pop_front();
        if (slab) {
            m_empty_count--;
        } else {
            slab = grow();
            if (!slab)
                return nullptr;
        }
        m_partial.push_front(*slab);
    }
    void* object = slab->slab_freelist;
    slab->slab_freelist = *static_cast<void**>(object);
    if (++slab->slab_inuse == m_objects_per_slab) {
        SlabList::remove(*slab);
        m_full.push_front(*slab);
    }
    return object;
}

void SlabCache::return_to_slab(Page* slab, void* object)
{
    if (slab->slab_inuse == 0)
        panic("slab %s: double free of %p (slab already empty)", m_name, object);
#ifdef SLUICE_KERNEL_DEBUG
    for (void* free_object = slab->slab_freelist; free_object; free_object = *static_cast<void**>(free_object)) {
        if (free_object == object)
            panic("slab %s: double free of %p", m_name, object);
    }
#endif
    if (slab->slab_inuse == m_objects_per_slab) {
        SlabList::remove(*slab);
        m_partial.push_front(*slab);
    }
    *static_cast<void**>(object) = slab->slab_freelist;
    slab->slab_freelist = object;
    slab->slab_inuse--;
    if (slab->slab_inuse == 0) {
        SlabList::remove(*slab);
        if (m_empty_count < EMPTY_SLABS_KEPT) {
            m_empty.push_front(*slab);
            m_empty_count++;
        } else {
            release_slab(slab);
        }
    }
}

void* SlabCache::allocate()
{
    if (should_fail_allocation()) [[unlikely]]
        return nullptr;
    bool irq = x86::save_and_disable_interrupts();
    CpuObjectCache& cpu = m_cpu_caches[current_cpu_index()];
    if (cpu.count == 0) {
        SpinLockGuard guard(m_lock);
        while (cpu.count < CPU_CACHE_BATCH) {
            void* object = take_from_slabs();
            if (!object)
                break;
            cpu.objects[cpu.count++] = object;
        }
    }
    void* object = cpu.count ? cpu.objects[--cpu.count] : nullptr;
    x86::restore_interrupts(irq);
    if (object)
        m_active_objects.fetch_add(1ul, MemoryOrder::Relaxed);
    return object;
}

void SlabCache::free(void* object)
{
    slab_of(object); // validates: panics on a foreign or interior pointer
#ifdef SLUICE_KERNEL_DEBUG
    memset(object, FREE_POISON, m_object_size);
#endif
    m_active_objects.fetch_sub(1ul, MemoryOrder::Relaxed);
    bool irq = x86::save_and_disable_interrupts();
    CpuObjectCache& cpu = m_cpu_caches[current_cpu_index()];
#ifdef SLUICE_KERNEL_DEBUG
    for (u32 i = 0; i < cpu.count; i++) {
        if (cpu.objects[i] == object)
            panic("slab %s: double free of %p", m_name, object);
    }
#endif
    if (cpu.count == CPU_CACHE_CAPACITY) {
        // Flush the oldest (coldest) objects; keep the recently freed ones.
        SpinLockGuard guard(m_lock);
        for (u32 i = 0; i < CPU_CACHE_BATCH; i++)
            return_to_slab(slab_of(cpu.objects[i]), cpu.objects[i]);
        for (u32 i = CPU_CACHE_BATCH; i < cpu.count; i++)
            cpu.objects[i - CPU_CACHE_BATCH] = cpu.objects[i];
        cpu.count -= CPU_CACHE_BATCH;
    }
    cpu.objects[cpu.count++] = object;
    x86::restore_interrupts(irq);
}

void SlabCache::drain_this_cpu()
{
    bool irq = x86::save_and_disable_interrupts();
    CpuObjectCache& cpu = m_cpu_caches[current_cpu_index()];
    if (cpu.count) {
        SpinLockGuard guard(m_lock);
        while (cpu.count) {
            void* object = cpu.objects[--cpu.count];
            return_to_slab(slab_of(object), object);
        }
    }
    x86::restore_interrupts(irq);
}

void SlabCache::release_empty_slabs()
{
    SpinLockGuard guard(m_lock);
    while (Page* slab = m_empty.pop_front()) {
        m_empty_count--;
        release_slab(slab);
    }
}

void SlabCache::shrink()
{
    smp_call_function_all([](void* cache) { static_cast<SlabCache*>(cache)->drain_this_cpu(); }, this, true);
    release_empty_slabs();
}

SlabCounters SlabCache::counters()
{
    SpinLockGuard guard(m_lock);
    return {m_name, m_object_size, m_active_objects.load(MemoryOrder::Relaxed),
            m_slabs * m_objects_per_slab, m_slabs};
}

SlabCache* slab_cache_create(const char* name, usize object_size, usize align)
{
    auto* cache = new SlabCache(name, object_size, align, false);
    if (!cache)
        return nullptr;
    if (!cache->is_valid()) {
        delete cache;
        return nullptr;
    }
    register_cache(*cache);
    return cache;
}

// For the heap's static size-class caches.
void slab_cache_register(SlabCache& cache) { register_cache(cache); }

void* slab_alloc(SlabCache* cache) { return cache->allocate(); }

void slab_free(SlabCache* cache, void* object)
{
    if (object)
        cache->free(object);
}

usize slab_counters(SlabCounters* out, usize max)
{
    // Collect the cache pointers first: counters() takes each cache's lock.
    constexpr usize MAX_LISTED = 128;
    SlabCache* caches[MAX_LISTED];
    usize count = 0;
    {
        SpinLockGuard guard(g_registry_lock);
        for (SlabCache& cache : registry()) {
            if (count < MAX_LISTED)
                caches[count] = &cache;
            count++;
        }
    }
    for (usize i = 0; i < min(min(count, max), MAX_LISTED); i++)
        out[i] = caches[i]->counters();
    return count;
}

void slab_shrink_all()
{
    constexpr usize MAX_LISTED = 128;
    SlabCache* caches[MAX_LISTED];
    usize count = 0;
    {
        SpinLockGuard guard(g_registry_lock);
        for (SlabCache& cache : registry()) {
            if (count < MAX_LISTED)
                caches[count++] = &cache;
        }
    }
    // One cross-CPU call drains every cache on every CPU.
    struct Caches {
        SlabCache** list;
        usize count;
    } all{caches, count};
    smp_call_function_all(
        [](void* arg) {
            auto* all = static_cast<Caches*>(arg);
            for (usize i = 0; i < all->count; i++)
                all->list[i]->drain_this_cpu();
        },
        &all, true);
    for (usize i = 0; i < count; i++)
        caches[i]->release_empty_slabs();
}

} // namespace mm
