#include "fs/pagecache/PageWait.h"

#include "fs/pagecache/PageState.h"
#include "kernel/debug/Panic.h"
#include "kernel/lib/Atomic.h"
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

void wake_page_waiters(Page& page) { wait_queue_of(page).wake_all(&page); }

namespace {

constexpr u32 WAITER_IDLE = 0;
constexpr u32 WAITER_ARMED = 1;
constexpr u32 WAITER_DONE = 2;

bool claim(AsyncPageWaiter& waiter)
{
    u32 expected = WAITER_ARMED;
    return waiter.state.compare_exchange_strong(expected, WAITER_DONE, MemoryOrder::AcqRel, MemoryOrder::Acquire);
}

// Under the hashed queue's lock, from wake_page_waiters(key = the page).
bool async_page_wake(WaitQueueEntry& entry, void* key)
{
    auto& waiter = *static_cast<AsyncPageWaiter*>(entry.context);
    if (key != waiter.page || page_test(*waiter.page, PAGE_LOCKED))
        return false; // another page of this queue, or locked again already
    if (!claim(waiter))
        return false; // disarmed meanwhile
    // Unlink as autoremove_wake_function does (the iterator already holds the
    // next entry); `linked` cleared last, then the entry is the callback's.
    IntrusiveList<WaitQueueEntry, &WaitQueueEntry::node>::remove(entry);
    entry.linked.store(false, MemoryOrder::Release);
    waiter.callback(waiter);
    return true;
}

} // namespace

AsyncPageWaiter::AsyncPageWaiter(Callback callback_, void* context_)
    : entry(nullptr, 0, async_page_wake)
    , callback(callback_)
    , context(context_)
{
    entry.context = this;
}

bool wait_on_page_locked_async(Page& page, AsyncPageWaiter& waiter)
{
    ASSERT(waiter.state.load(MemoryOrder::Acquire) != WAITER_ARMED);
    waiter.page = &page;
    waiter.state.store(WAITER_ARMED, MemoryOrder::Release);
    WaitQueue& queue = wait_queue_of(page);
    queue.add(waiter.entry);
    // Queued before the test (as wait_event): an unlock after this test
    // finds the entry; one before it is seen here.
    if (page_test(page, PAGE_LOCKED))
        return true;
    if (!claim(waiter))
        return true; // an unlock between add and test already ran the callback
    queue.remove(waiter.entry);
    return false;
}

bool disarm_page_waiter(AsyncPageWaiter& waiter)
{
    WaitQueue& queue = wait_queue_of(*waiter.page);
    const bool cancelled = claim(waiter);
    // Taking the queue lock also waits out a callback running under it.
    queue.remove(waiter.entry);
    return cancelled;
}

} // namespace pagecache
