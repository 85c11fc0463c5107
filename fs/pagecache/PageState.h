// The states of a page-cache page, who owns the page in each, and the atomic
// flag and reference-count operations that move it between them.
//
// A page-cache page is a Page descriptor (kernel/mm/Page.h) with `mapping`
// (its Mapping) and `index` (page number in the file) set. The state is
// carried by PAGE_* flag bits; PageState names the combinations that are
// allowed to exist, and page_state() reads them:
//
//   state       flags                    owner / lists / invariants
//   ---------   ----------------------   ------------------------------------------------
//   Missing     (no page in the tree)    nobody. A reader that finds no page allocates
//                                        one and inserts it Reading.
//   Reading     LOCKED, !UPTODATE        the thread or bio that reads it: in the tree and
//                                        on an LRU list, contents undefined. Only the read
//                                        completion may change it: it sets UPTODATE (or
//                                        ERROR) and unlocks, which wakes the waiters.
//   UpToDate    UPTODATE, !DIRTY         the cache: contents equal the device's. In the
//                                        tree, on an LRU list. Reclaim may drop it once
//                                        nobody else holds a reference.
//   Dirty       UPTODATE, DIRTY          the cache, newer than the device: tagged DIRTY in
//                                        the tree, counted in Dirty, its Mapping is
//                                        on its device's dirty list. Never dropped.
//   Writeback   UPTODATE, WRITEBACK      the write bio: the page's contents are being
//                                        written; tagged WRITEBACK, counted in Writeback.
//                                        May also be DIRTY again (rewritten meanwhile).
//                                        The write completion clears WRITEBACK and wakes.
//                                        Never dropped.
//   Error       ERROR, !UPTODATE         the last read failed: in the tree, not locked;
//                                        the next reader retries the read once, then
//                                        returns EIO. (A failed *write* keeps the page
//                                        UpToDate with ERROR set and records EIO in the
//                                        Mapping for the next fsync.)
//
// LOCKED is orthogonal to the last four states: a thread that must change a
// page (fill it for a write, start its writeback, remove it from the tree)
// locks it first; LOCKED without UPTODATE is Reading. Readers of an UpToDate
// page copy from it without the lock (a concurrent write may be seen
// half-done, as on Linux).
//
// References (Page::refcount): the tree holds one for as long as the page is
// in it, every lookup takes one (find_get_page) and drops it (put_page); the
// page is freed when the count reaches zero, which only happens after it left
// the tree. A page is on an LRU list only while it is in the tree; the LRU
// list holds no reference (reclaim takes one under the LRU lock before it
// looks at a page). Reclaim drops only pages whose sole reference is the tree's
// (plus its own), that are unlocked, clean and not under writeback: "in use"
// means referenced, so reclaim never frees a page someone is copying from.
#pragma once

#include "kernel/lib/Atomic.h"
#include "kernel/lib/Types.h"
#include "kernel/mm/Page.h"

namespace pagecache {

enum class PageState : u8 {
    Missing,
    Reading,
    UpToDate,
    Dirty,
    Writeback,
    Error,
};

const char* page_state_name(PageState state);

// The state that a set of flags denotes, or false from is_valid_page_state()
// when the combination is not one of the states above (DIRTY or WRITEBACK
// without UPTODATE, say). Pure: host-tested.
constexpr PageState page_state_of(u32 flags)
{
    if (flags & PAGE_WRITEBACK)
        return PageState::Writeback;
    if (flags & PAGE_DIRTY)
        return PageState::Dirty;
    if (flags & PAGE_UPTODATE)
        return PageState::UpToDate;
    if (flags & PAGE_LOCKED)
        return PageState::Reading;
    if (flags & PAGE_ERROR)
        return PageState::Error;
    return PageState::Missing; // allocated, not yet filled nor inserted
}

constexpr bool is_valid_page_state(u32 flags)
{
    // Only valid contents can be newer than the device or be written to it.
    const bool uptodate = flags & PAGE_UPTODATE;
    return uptodate || !(flags & (PAGE_DIRTY | PAGE_WRITEBACK));
}

inline PageState page_state(const Page& page)
{
    return page_state_of(page.flags.load(MemoryOrder::Acquire));
}

// --- flag bits (atomic: completions change them from interrupts) ------------

inline bool page_test(const Page& page, u32 flag) { return page.flags.load(MemoryOrder::Acquire) & flag; }
inline void page_set(Page& page, u32 flag) { page.flags.fetch_or(flag, MemoryOrder::AcqRel); }
inline void page_clear(Page& page, u32 flag) { page.flags.fetch_and(~flag, MemoryOrder::AcqRel); }
// Return the old value of the bit.
inline bool page_test_and_set(Page& page, u32 flag)
{
    return page.flags.fetch_or(flag, MemoryOrder::AcqRel) & flag;
}
inline bool page_test_and_clear(Page& page, u32 flag)
{
    return page.flags.fetch_and(~flag, MemoryOrder::AcqRel) & flag;
}

// --- references --------------------------------------------------------------

inline void get_page(Page& page) { page.refcount.fetch_add(1, MemoryOrder::Relaxed); }
inline i32 page_refcount(const Page& page) { return page.refcount.load(MemoryOrder::Acquire); }
// Drop a reference; the last one frees the page (which must have left its
// mapping and the LRU by then).
void put_page(Page& page);

} // namespace pagecache
