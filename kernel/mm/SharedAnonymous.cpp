#include "kernel/mm/SharedAnonymous.h"

#include "kernel/lib/Atomic.h"
#include "kernel/mm/Heap.h"
#include "kernel/mm/PageAllocator.h"
#include "kernel/mm/PageRef.h"

namespace mm {
namespace {

const RadixTreeAllocator g_node_allocator = {kmalloc, kfree};
Atomic<u64> g_live;

} // namespace

SharedAnonymous::SharedAnonymous(u64 size_bytes) : m_pages(g_node_allocator), m_size_bytes(size_bytes)
{
    g_live.fetch_add(1, MemoryOrder::Relaxed);
}

SharedAnonymous::~SharedAnonymous()
{
    u64 index = 0;
    while (void* item = m_pages.find_next(index, index)) {
        m_pages.erase(index);
        put_page_ref(*static_cast<Page*>(item));
    }
    g_live.fetch_sub(1, MemoryOrder::Relaxed);
}

Result<SharedAnonymous*> SharedAnonymous::create(u64 size_bytes)
{
    auto* object = new SharedAnonymous(size_bytes);
    if (!object)
        return Error::from_errno(ENOMEM);
    return object;
}

u64 SharedAnonymous::live_count() { return g_live.load(MemoryOrder::Relaxed); }

void SharedAnonymous::ref() { m_refcount.fetch_add(1, MemoryOrder::Relaxed); }

void SharedAnonymous::unref()
{
    if (m_refcount.sub_fetch(1, MemoryOrder::AcqRel) == 0)
        delete this;
}

Result<Page*> SharedAnonymous::get_page(u64 index, bool)
{
    if (index >= (m_size_bytes + PAGE_SIZE - 1) >> PAGE_SHIFT)
        return Error::from_errno(ENXIO);
    // Allocate outside the lock; a racing fault on the same index may win.
    Page* fresh = nullptr;
    for (;;) {
        {
            SpinLockGuard guard(m_lock);
            if (auto* page = static_cast<Page*>(m_pages.lookup(index))) {
                get_page_ref(*page);
                if (fresh)
                    free_page(fresh);
                return page;
            }
            if (fresh) {
                if (m_pages.insert(index, fresh).is_error()) {
                    free_page(fresh);
                    return Error::from_errno(ENOMEM);
                }
                get_page_ref(*fresh); // the tree's and the caller's
                return fresh;
            }
        }
        fresh = alloc_page(ALLOC_ZERO);
        if (!fresh)
            return Error::from_errno(ENOMEM);
    }
}

bool SharedAnonymous::is_resident(u64 index)
{
    SpinLockGuard guard(m_lock);
    return m_pages.lookup(index) != nullptr;
}

} // namespace mm
