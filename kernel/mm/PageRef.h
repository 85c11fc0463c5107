// References on pages mapped into user address spaces.
//
// Page::refcount counts every holder of a page: each page-table entry that
// maps it, the page cache's tree (for file pages), a kernel owner (io_uring
// rings) and pins. Anonymous pages (PAGE_ANON) have no other owner: the last
// put frees them. A page-cache page reaches zero only after it left its
// file's tree (truncation), so the same put works for both.
//
// Pins (pin_user_pages, for DMA) add PIN_BIAS instead of 1, as Linux's
// FOLL_PIN does (GUP_PIN_COUNTING_BIAS): a count >= PIN_BIAS means "may be
// pinned", which COW and fork must respect (a pinned page is never shared
// copy-on-write: the device writes into that very page).
#pragma once

#include "kernel/lib/Atomic.h"
#include "kernel/lib/Types.h"
#include "kernel/mm/Page.h"
#include "kernel/mm/PageAllocator.h"

namespace mm {

constexpr i32 PIN_BIAS = 1024;

inline void get_page_ref(Page& page, i32 count = 1) { page.refcount.fetch_add(count, MemoryOrder::Relaxed); }
inline i32 page_ref_count(const Page& page) { return page.refcount.load(MemoryOrder::Acquire); }
inline bool page_maybe_pinned(const Page& page) { return page_ref_count(page) >= PIN_BIAS; }

// Drop `count` references; the last one frees the page.
inline void put_page_ref(Page& page, i32 count = 1)
{
    if (page.refcount.sub_fetch(count, MemoryOrder::AcqRel) == 0) {
        page.flags.fetch_and(~PAGE_ANON, MemoryOrder::Relaxed);
        free_page(&page);
    }
}

} // namespace mm
