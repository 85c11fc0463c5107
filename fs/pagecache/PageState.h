// The states of a page-cache page, and waiting on them.
//
//   state        flags                      owner / list                     who moves it on
//   missing      (not in the tree)          -                                a reader or writer inserts it
//   reading      LOCKED, !UPTODATE          in the tree; the bios own it     read end_io: UPTODATE or ERROR,
//                                                                            then unlock
//   up to date   UPTODATE                   in the tree (cache holds 1 ref)  a write: DIRTY
//   dirty        UPTODATE|DIRTY             tree tagged DIRTY                writeback: lock, clear DIRTY,
//                                                                            set WRITEBACK, unlock, submit
//   writeback    UPTODATE|WRITEBACK         tree tagged WRITEBACK; the bios  write end_io: clear WRITEBACK
//                (+DIRTY if written again)                                   (ERROR on failure), wake
//   error        ERROR (+ UPTODATE if a write failed; not if a read failed)
//
// Invariants:
// - LOCKED serialises state changes of one page (insert, read, truncate,
//   starting writeback). It is a bit, not a mutex: the read end_io clears it
//   from interrupt context.
// - DIRTY in the flags <=> the DIRTY tag in the address space's tree; the same
//   for WRITEBACK. Both change under the address space lock.
// - A page in a tree has refcount >= 1 (the tree's). Every lookup takes a
//   reference; put_page() drops it and frees the page when it reaches 0.
//   Truncate removes a page from the tree only when it is locked and not
//   under writeback.
// - A page is never DIRTY without being UPTODATE.
//
// Waiting: wait queues are hashed by page (Linux's page_waitqueue): a waker
// clears the bit, then wakes every waiter of the bucket; each waiter rechecks
// its own page.
#pragma once

#include "kernel/lib/Types.h"
#include "kernel/mm/Page.h"

namespace pagecache {

inline bool test_flag(const Page* page, u32 flag) { return __atomic_load_n(&page->flags, __ATOMIC_ACQUIRE) & flag; }
inline void set_flag(Page* page, u32 flag) { __atomic_fetch_or(&page->flags, flag, __ATOMIC_ACQ_REL); }
inline void clear_flag(Page* page, u32 flag) { __atomic_fetch_and(&page->flags, ~flag, __ATOMIC_ACQ_REL); }
// Returns whether the flag was set before.
inline bool test_and_set_flag(Page* page, u32 flag)
{
    return __atomic_fetch_or(&page->flags, flag, __ATOMIC_ACQ_REL) & flag;
}
inline bool test_and_clear_flag(Page* page, u32 flag)
{
    return __atomic_fetch_and(&page->flags, ~flag, __ATOMIC_ACQ_REL) & flag;
}

void get_page(Page* page);
// Drop a reference; frees the page with the last one.
void put_page(Page* page);

// Sleep until the page is unlocked, then lock it.
void lock_page(Page* page);
bool try_lock_page(Page* page);
// Clear LOCKED and wake its waiters. Any context.
void unlock_page(Page* page);
void wait_on_page_locked(Page* page);
void wait_on_page_writeback(Page* page);
// Clear WRITEBACK and wake (the address space updates its tag first).
void wake_page_waiters(Page* page);

} // namespace pagecache
