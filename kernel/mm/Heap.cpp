// kmalloc/kfree and the global operator new/delete on top of them.
#include "kernel/mm/Heap.h"

#include "kernel/debug/Panic.h"
#include "kernel/lib/Atomic.h"
#include "kernel/lib/String.h"
#include "kernel/lib/Utility.h"
#include "kernel/mm/Boot.h"
#include "kernel/mm/PageAllocator.h"
#include "kernel/mm/Slab.h"

namespace mm {
namespace {

constexpr usize SIZE_CLASS_COUNT = 8; // 16 .. 2048
constexpr const char* SIZE_CLASS_NAMES[SIZE_CLASS_COUNT] = {
    "kmalloc-16", "kmalloc-32", "kmalloc-64", "kmalloc-128",
    "kmalloc-256", "kmalloc-512", "kmalloc-1024", "kmalloc-2048",
};
static_assert(KMALLOC_MIN_SIZE << (SIZE_CLASS_COUNT - 1) == KMALLOC_MAX_SLAB_SIZE);

alignas(SlabCache) unsigned char g_cache_storage[SIZE_CLASS_COUNT][sizeof(SlabCache)];
SlabCache* g_size_classes[SIZE_CLASS_COUNT];
Atomic<u64> g_allocated_bytes;

// Index of the smallest class that holds `size` (size <= KMALLOC_MAX_SLAB_SIZE).
unsigned size_class(usize size)
{
    if (size <= KMALLOC_MIN_SIZE)
        return 0;
    // ceil(log2(size)) - log2(KMALLOC_MIN_SIZE)
    return static_cast<unsigned>(64 - __builtin_clzl(size - 1)) - 4;
}

} // namespace

void init_heap()
{
    for (usize i = 0; i < SIZE_CLASS_COUNT; i++) {
        usize size = KMALLOC_MIN_SIZE << i;
        g_size_classes[i] = new (g_cache_storage[i]) SlabCache(SIZE_CLASS_NAMES[i], size, size, true);
        ASSERT(g_size_classes[i]->is_valid());
        slab_cache_register(*g_size_classes[i]);
    }
}

u64 heap_allocated_bytes() { return g_allocated_bytes.load(MemoryOrder::Relaxed); }

} // namespace mm

void* kmalloc(usize size)
{
    using namespace mm;
    if (size <= KMALLOC_MAX_SLAB_SIZE) {
        SlabCache* cache = g_size_classes[size_class(size)];
        if (!cache) [[unlikely]]
            return nullptr; // before mm::init
        void* object = cache->allocate();
        if (object)
            g_allocated_bytes.fetch_add(cache->object_size(), MemoryOrder::Relaxed);
        return object;
    }
    // Checked before rounding: a size within a page of the top of the address
    // space would wrap to a tiny block in order_for_bytes().
    if (size > (PAGE_SIZE << MAX_ORDER))
        return nullptr;
    unsigned order = order_for_bytes(size);
    Page* page = alloc_pages(order);
    if (!page)
        return nullptr;
    page->flags.fetch_or(PAGE_KMALLOC, MemoryOrder::Relaxed);
    g_allocated_bytes.fetch_add(PAGE_SIZE << order, MemoryOrder::Relaxed);
    return page_address(page);
}

void* kzalloc(usize size)
{
    void* pointer = kmalloc(size);
    if (pointer)
        memset(pointer, 0, size);
    return pointer;
}

void kfree(void* pointer)
{
    using namespace mm;
    if (!pointer)
        return;
    Page* page = virt_to_page(pointer);
    if (!page)
        panic("kfree(%p): not a heap address", pointer);
    if (page->flags.load(MemoryOrder::Relaxed) & PAGE_SLAB) {
        auto* cache = static_cast<SlabCache*>(page->private_data);
        if (!cache->is_kmalloc())
            panic("kfree(%p): object of slab cache %s (use slab_free)", pointer, cache->name());
        g_allocated_bytes.fetch_sub(cache->object_size(), MemoryOrder::Relaxed);
        cache->free(pointer);
        return;
    }
    if (!(page->flags.load(MemoryOrder::Relaxed) & PAGE_KMALLOC) || page_address(page) != pointer)
        panic("kfree(%p): not a kmalloc block", pointer);
    page->flags.fetch_and(~PAGE_KMALLOC, MemoryOrder::Relaxed);
    g_allocated_bytes.fetch_sub(PAGE_SIZE << page->order, MemoryOrder::Relaxed);
    free_pages(page, page->order);
}

// The kernel is built with -fcheck-new: a null result from operator new is
// checked by the compiler before the constructor runs.
void* operator new(usize size) { return kmalloc(size); }
void* operator new[](usize size) { return kmalloc(size); }
void operator delete(void* pointer) noexcept { kfree(pointer); }
void operator delete[](void* pointer) noexcept { kfree(pointer); }
void operator delete(void* pointer, usize) noexcept { kfree(pointer); }
void operator delete[](void* pointer, usize) noexcept { kfree(pointer); }
void* operator new(usize size, const std::nothrow_t&) noexcept { return kmalloc(size); }
void* operator new[](usize size, const std::nothrow_t&) noexcept { return kmalloc(size); }
void operator delete(void* pointer, const std::nothrow_t&) noexcept { kfree(pointer); }
void operator delete[](void* pointer, const std::nothrow_t&) noexcept { kfree(pointer); }

// Over-aligned types (alignas > 16). kmalloc(n) is aligned to n rounded up to
// a power of two (see Heap.h), so asking for max(size, align) is enough.
#if !__STDC_HOSTED__
namespace std {
enum class align_val_t : usize {};
}
#endif
void* operator new(usize size, std::align_val_t align) { return kmalloc(max(size, static_cast<usize>(align))); }
void* operator new[](usize size, std::align_val_t align) { return kmalloc(max(size, static_cast<usize>(align))); }
void operator delete(void* pointer, std::align_val_t) noexcept { kfree(pointer); }
void operator delete[](void* pointer, std::align_val_t) noexcept { kfree(pointer); }
void operator delete(void* pointer, usize, std::align_val_t) noexcept { kfree(pointer); }
void operator delete[](void* pointer, usize, std::align_val_t) noexcept { kfree(pointer); }
