// Locking a page and waiting for a page's I/O.
//
// Pages do not carry wait queues (64 bytes per page is all the descriptor
// has): waiters sleep on one of a fixed set of wait queues chosen by hashing
// the descriptor's address, as Linux's page_waitqueue() does. A wake-up wakes
// every waiter of that hashed queue; each re-tests its own page's bit, so a
// collision costs a spurious wake-up, never a lost one (wait_event's
// prepare-then-test order makes the test race-free against a completion on
// another CPU).
#pragma once

#include "kernel/lib/Atomic.h"
#include "kernel/mm/Page.h"
#include "kernel/sync/WaitQueue.h"

namespace pagecache {

// PAGE_LOCKED: the page's owner lock (see PageState.h).
bool trylock_page(Page& page);
void lock_page(Page& page); // sleeps
// Any context (read completions unlock from interrupts).
void unlock_page(Page& page);

// Sleep until the page is unlocked / not under writeback.
void wait_on_page_locked(Page& page);
void wait_on_page_writeback(Page& page);

// Wake every waiter of the page's hashed queue (after clearing a bit). The
// page is the wake key, so asynchronous waiters of other pages that hash to
// the same queue pass.
void wake_page_waiters(Page& page);

// An asynchronous waiter for a page's I/O (Linux's wait_page_queue, as
// io_uring uses it): instead of sleeping, a wait-queue entry whose wake
// function runs `callback` once the page is unlocked (its read finished);
// the callback sees PAGE_UPTODATE or PAGE_ERROR on it. The callback runs at
// most once, from whoever unlocks the page (often the read completion
// interrupt), under the hashed queue's lock: it must not sleep and must not
// touch page wait queues (no lock_page, no arming again); it may wake other
// wait queues, and usually queues the retry of its request for a thread. The waiter (often inside a request)
// must stay valid until the callback ran or disarm() returned.
struct AsyncPageWaiter {
    using Callback = void (*)(AsyncPageWaiter& waiter);

    AsyncPageWaiter(Callback callback_, void* context_);
    AsyncPageWaiter(const AsyncPageWaiter&) = delete;
    AsyncPageWaiter& operator=(const AsyncPageWaiter&) = delete;

    WaitQueueEntry entry;
    Page* page = nullptr;
    Callback callback;
    void* context; // the owner's
    // 0 idle, 1 armed, 2 fired or disarmed: the wake function and disarm()
    // race for the 1 -> 2 step; exactly one of them wins.
    Atomic<u32> state{0};
};

// Arm `waiter` on `page` (referenced by the caller until the callback ran or
// the waiter was disarmed). Returns false when the page is not locked any
// more: nothing is queued and the callback will not run (retry now).
// Otherwise true: the callback runs when the page unlocks.
bool wait_on_page_locked_async(Page& page, AsyncPageWaiter& waiter);
// Cancel an armed waiter. Returns true if the callback will never run, false
// if it already ran (or is running: it has finished once this returns).
bool disarm_page_waiter(AsyncPageWaiter& waiter);

} // namespace pagecache
