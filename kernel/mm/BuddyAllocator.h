// The buddy allocator core: free lists of 2^order page blocks over one
// contiguous range of page frames (a zone), with splitting on allocation and
// coalescing on free.
//
// Portable and lock-free by itself (the caller serialises access), so the
// host tests run it unchanged over a fake descriptor array. It never touches
// the memory it manages: all bookkeeping is in the Page descriptors.
//
// Invariants (checked by check_consistency()):
//   - a free block of order k starts at a PFN that is a multiple of 2^k and
//     lies entirely inside the zone;
//   - only its first page carries PAGE_FREE (with order = k) and it is linked
//     into m_free[k];
//   - two free buddies of the same order never coexist (they are merged).
#pragma once

#include "kernel/lib/IntrusiveList.h"
#include "kernel/lib/Types.h"
#include "kernel/mm/Page.h"

namespace mm {

class BuddyAllocator {
public:
    static constexpr unsigned MAX_ORDER = 10; // largest block: 2^10 pages = 4 MiB

    BuddyAllocator() = default;
    BuddyAllocator(const BuddyAllocator&) = delete;
    BuddyAllocator& operator=(const BuddyAllocator&) = delete;

    // The zone covers PFNs [first_pfn, first_pfn + page_count); `pages` is the
    // descriptor of first_pfn. Every page starts out owned by the caller.
    void init(Page* pages, u64 first_pfn, u64 page_count);

    // Hand the (caller-owned) PFNs [pfn, pfn + count) to the allocator, in the
    // largest aligned blocks that fit, merging with free neighbours.
    void add_free_range(u64 pfn, u64 count);

    // The first page of a 2^order block, or nullptr when no block is left.
    // The returned head has flags 0, order = `order`; other fields untouched.
    Page* allocate(unsigned order);
    // Returns false (and changes nothing) if `page` is not the aligned head of
    // an allocated block of this zone (bad pointer, misalignment, double free).
    bool free(Page* page, unsigned order);

    bool contains(const Page* page) const { return page >= m_pages && page < m_pages + m_page_count; }
    bool contains_pfn(u64 pfn) const { return pfn >= m_first_pfn && pfn - m_first_pfn < m_page_count; }
    u64 pfn_of(const Page* page) const { return m_first_pfn + static_cast<u64>(page - m_pages); }
    Page* page_of(u64 pfn) const { return m_pages + (pfn - m_first_pfn); }

    u64 free_pages() const { return m_free_pages; }
    u64 managed_pages() const { return m_managed_pages; } // ever added with add_free_range
    u64 free_blocks(unsigned order) const { return m_free_blocks[order]; }
    u64 first_pfn() const { return m_first_pfn; }
    u64 page_count() const { return m_page_count; }

    // Walks every free list and verifies the invariants above and the
    // counters. O(free blocks); for tests and debugging.
    bool check_consistency() const;

private:
    using FreeList = IntrusiveList<Page, &Page::list>;

    void insert_block(u64 pfn, unsigned order);

    Page* m_pages = nullptr;
    u64 m_first_pfn = 0;
    u64 m_page_count = 0;
    u64 m_free_pages = 0;
    u64 m_managed_pages = 0;
    FreeList m_free[MAX_ORDER + 1];
    u64 m_free_blocks[MAX_ORDER + 1] = {};
};

} // namespace mm
