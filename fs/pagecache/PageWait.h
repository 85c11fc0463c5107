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

#include "kernel/mm/Page.h"

namespace pagecache {

// PAGE_LOCKED: the page's owner lock (see PageState.h).
bool trylock_page(Page& page);
void lock_page(Page& page); // sleeps
// Any context (read completions unlock from interrupts).
void unlock_page(Page& page);

// Sleep until the page is unlocked / not under writeback.
void wait_on_page_locked(Page& page);
void wait_on_page_writeback(Page& page);

// Wake every waiter of the page's hashed queue (after clearing a bit).
void wake_page_waiters(Page& page);

} // namespace pagecache
