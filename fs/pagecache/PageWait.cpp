#include "fs/pagecache/PageWait.h"

#include "fs/pagecache/PageState.h"
#include "kernel/sync/WaitQueue.h"

namespace pagecache {
namespace {

constexpr usize PAGE_WAIT_QUEUES = 256; // power of two

WaitQueue g_page_wait_queues[PAGE_WAIT_QUEUES];

WaitQueue& wait_queue_of(const Page& page)
{
    // Descriptors are 64 bytes apart: drop those bits, then mix (Fibonacci hashing).
    const u64 key = reinterpret_cast<uptr>(&page) >> 6;
    return g_page_wait_queues[(key * 0x9e3779b97f4a7c15ul) >> (64 - 8)];
}
static_assert(PAGE_WAIT_QUEUES == 1u << 8);

} // namespace

bool trylock_page(Page& page) { return !page_test_and_set(page, PAGE_LOCKED); }

void lock_page(Page& page)
{
    if (trylock_page(page))
        return;
    wait_event(wait_queue_of(page), [&] { return trylock_page(page); });
}

void unlock_page(Page& page)
{
    page_clear(page, PAGE_LOCKED);
    wake_page_waiters(page);
}

void wait_on_page_locked(Page& page)
{
    wait_event(wait_queue_of(page), [&] { return !page_test(page, PAGE_LOCKED); });
}

void wait_on_page_writeback(Page& page)
{
    wait_event(wait_queue_of(page), [&] { return !page_test(page, PAGE_WRITEBACK); });
}

void wake_page_waiters(Page& page) { wait_queue_of(page).wake_all(); }

} // namespace pagecache
