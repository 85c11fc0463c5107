#include "kernel/mm/SharedAnonymous.h"

#include "kernel/mm/Heap.h"
#include "kernel/mm/PageAllocator.h"
#include "kernel/mm/PageRef.h"

namespace mm {
namespace {

const RadixTreeAllocator g_node_allocator = {kmalloc, kfree};
u64 g_live; // atomic

} // namespace

SharedAnonymous::SharedAnonymous(u64 size_bytes) : m_pages(g_node_allocator), m_size_bytes(size_bytes)
{
    __atomic_fetch_add(&g_live, 1, __ATOMIC_RELAXED);
}

SharedAnonymous::~SharedAnonymous()
{
    u64 index = 0;
    while (void* item = m_pages.find_next(index, index)) {
        m_pages.erase(index);
        put_page_ref(*static_cast<Page*>(item));
    }
    __atomic_fetch_sub(&g_live, 1, __ATOMIC_RELAXED);
}

Result<SharedAnonymous*> SharedAnonymous::create(u64 size_bytes)
{
    auto* object = new SharedAnonymous(size_bytes);
    if (!object)
        return Error::from_errno(ENOMEM);
    return object;
}

u64 SharedAnonymous::live_count() { return __atomic_load_n(&g_live, __ATOMIC_RELAXED); }

void SharedAnonymous::ref() { __atomic_fetch_add(&m_refcount, 1, __ATOMIC_RELAXED); }

void SharedAnonymous::unref()
{
    if (__atomic_sub_fetch(&m_refcount, 1, __ATOMIC_ACQ_REL) == 0)
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
