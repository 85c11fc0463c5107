// Which pages a TLB flush of [start, start + length) must invalidate, or
// whether one full flush is cheaper. Counting pages rather than comparing
// against an end address keeps a range that ends at the top of the address
// space (start + length == 2^64, which wraps to 0) from flushing nothing.
#pragma once

#include "kernel/lib/Types.h"

// Past this many pages one full flush is cheaper than page-by-page INVLPG.
constexpr usize TLB_SINGLE_PAGE_LIMIT = 32;

struct TlbPages {
    bool full;   // flush everything (global entries too)
    uptr first;  // else: `count` pages from `first`
    usize count;
};

constexpr TlbPages tlb_pages(uptr start, usize length)
{
    if (length == 0 || length > TLB_SINGLE_PAGE_LIMIT * PAGE_SIZE)
        return {true, 0, 0};
    const uptr first = align_down<uptr>(start, PAGE_SIZE);
    // (start - first) + length <= PAGE_SIZE - 1 + 32 pages: cannot overflow.
    const usize count = (start - first + length + PAGE_SIZE - 1) / PAGE_SIZE;
    if (count > TLB_SINGLE_PAGE_LIMIT)
        return {true, 0, 0};
    return {false, first, count};
}
