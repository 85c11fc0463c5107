// Reclaim: the active/inactive LRU lists of page-cache pages and the code
// that frees pages from them under memory pressure.
//
// New pages enter the inactive list; a second access (mark_page_accessed)
// while inactive and already referenced promotes a page to the active list
// (Linux's two-touch rule), so a large one-pass read or write streams through
// the inactive list without evicting the working set. Reclaim scans the tail
// of the inactive list:
//   referenced           -> clear the bit, rotate (second chance)
//   locked / in use      -> rotate
//   under writeback      -> rotate (its completion makes it clean)
//   dirty                -> start writeback of it and its dirty neighbours, rotate
//   clean, unused        -> remove from its mapping, free
// and refills the inactive list from the tail of the active list when the
// active list is the larger one.
//
// Who reclaims: the "kreclaimd" thread, woken by the page allocator
// (mm::set_pressure_callback) when free pages fall below the low watermark,
// works until they are above the high watermark; a page-cache allocation that
// fails reclaims directly (and waits for writeback if that is all there is).
#pragma once

#include "kernel/lib/Types.h"
#include "kernel/mm/Page.h"

namespace pagecache {

struct Watermarks {
    u64 min_pages;  // page-cache allocations reclaim directly below this
    u64 low_pages;  // kreclaimd wakes below this
    u64 high_pages; // kreclaimd sleeps above this
};
Watermarks watermarks();

void lru_add(Page& page);    // a page just inserted into a tree
void lru_remove(Page& page); // a page leaving its tree (no-op if isolated)
void mark_page_accessed(Page& page);

// Try to free up to `target` pages; returns how many were freed. May sleep.
u64 shrink_page_cache(u64 target);
// Drop every clean unused page (tests: "echo 1 > drop_caches").
u64 drop_clean_pages();

// Caches outside the page cache that give memory back on request (Linux's
// shrinkers: the VFS's names and inodes). kreclaimd runs each after a pass
// over the page lists while free memory stays below the high watermark;
// `scan` frees up to `max_objects` and returns how many it freed. It runs in
// kreclaimd's thread: it may sleep, but must not wait for a lock whose holder
// may be waiting for memory (try-lock, give up).
using ShrinkerScan = u64 (*)(u64 max_objects);
void register_shrinker(ShrinkerScan scan);
// Run every shrinker once (kreclaimd; tests). Returns the objects freed.
u64 run_shrinkers(u64 max_objects_each);

void init_reclaim();

} // namespace pagecache
