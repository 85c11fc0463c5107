#include "fs/pagecache/PageState.h"

#include "kernel/debug/Panic.h"
#include "kernel/mm/PageAllocator.h"
#include "kernel/sync/WaitQueue.h"

namespace pagecache {

namespace {

constexpr usize WAIT_TABLE_SIZE = 256; // power of two

WaitQueue& wait_queue_of(const Page* page)
{
    static WaitQueue table[WAIT_TABLE_SIZE];
    // Page descriptors are 64 bytes apart: drop those bits before mixing.
    u64 key = reinterpret_cast<uptr>(page) >> 6;
    key *= 0x9E3779B97F4A7C15ul;
    return table[(key >> 56) & (WAIT_TABLE_SIZE - 1)];
}

void wait_for_clear(Page* page, u32 flag)
{
    if (!test_flag(page, flag))
        return;
    wait_event(wait_queue_of(page), [&] { return !test_flag(page, flag); });
}

} // namespace

void get_page(Page* page)
{
    __atomic_fetch_add(&page->refcount, 1, __ATOMIC_RELAXED);
}

void put_page(Page* page)
{
    const i32 left = __atomic_sub_fetch(&page->refcount, 1, __ATOMIC_ACQ_REL);
    ASSERT(left >= 0);
    if (left == 0) {
        // Not in any tree (the tree holds a reference), not under I/O.
        page->flags &= ~(PAGE_LOCKED | PAGE_UPTODATE | PAGE_DIRTY | PAGE_WRITEBACK | PAGE_ERROR | PAGE_LRU
                         | PAGE_ACTIVE | PAGE_REFERENCED);
        page->mapping = nullptr;
        page->private_data = nullptr;
        page->refcount = 1; // what free_pages expects of an allocated block
        mm::free_page(page);
    }
}

bool try_lock_page(Page* page)
{
    return !test_and_set_flag(page, PAGE_LOCKED);
}

void lock_page(Page* page)
{
    while (!try_lock_page(page))
        wait_for_clear(page, PAGE_LOCKED);
}

void unlock_page(Page* page)
{
    clear_flag(page, PAGE_LOCKED);
    wait_queue_of(page).wake_all();
}

void wait_on_page_locked(Page* page)
{
    wait_for_clear(page, PAGE_LOCKED);
}

void wait_on_page_writeback(Page* page)
{
    wait_for_clear(page, PAGE_WRITEBACK);
}

void wake_page_waiters(Page* page)
{
    wait_queue_of(page).wake_all();
}

} // namespace pagecache
