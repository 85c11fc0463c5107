#include "kernel/mm/BuddyAllocator.h"

namespace mm {

void BuddyAllocator::init(Page* pages, u64 first_pfn, u64 page_count)
{
    m_pages = pages;
    m_first_pfn = first_pfn;
    m_page_count = page_count;
    m_free_pages = 0;
    m_managed_pages = 0;
    for (unsigned order = 0; order <= MAX_ORDER; order++) {
        while (m_free[order].pop_front()) { }
        m_free_blocks[order] = 0;
    }
}

void BuddyAllocator::add_free_range(u64 pfn, u64 count)
{
    u64 end = pfn + count;
    while (pfn < end) {
        unsigned order = MAX_ORDER;
        while (order > 0 && (!is_aligned(pfn, u64(1) << order) || pfn + (u64(1) << order) > end))
            order--;
        for (u64 i = 0; i < (u64(1) << order); i++)
            page_of(pfn + i)->flags.store(0, MemoryOrder::Relaxed);
        m_managed_pages += u64(1) << order;
        insert_block(pfn, order);
        pfn += u64(1) << order;
    }
}

// Put the block [pfn, pfn + 2^order) on the free lists, merging it with its
// buddy for as long as the buddy is a free block of the same order.
void BuddyAllocator::insert_block(u64 pfn, unsigned order)
{
    m_free_pages += u64(1) << order;
    while (order < MAX_ORDER) {
        u64 buddy_pfn = pfn ^ (u64(1) << order);
        if (!contains_pfn(buddy_pfn))
            break;
        Page* buddy = page_of(buddy_pfn);
        if (!(buddy->flags.load(MemoryOrder::Relaxed) & PAGE_FREE) || buddy->order != order)
            break;
        FreeList::remove(*buddy);
        m_free_blocks[order]--;
        buddy->flags.fetch_and(~PAGE_FREE, MemoryOrder::Relaxed);
        pfn &= ~(u64(1) << order);
        order++;
    }
    Page* head = page_of(pfn);
    head->flags.store(PAGE_FREE, MemoryOrder::Relaxed);
    head->order = static_cast<u8>(order);
    m_free[order].push_front(*head);
    m_free_blocks[order]++;
}

Page* BuddyAllocator::allocate(unsigned order)
{
    if (order > MAX_ORDER)
        return nullptr;
    unsigned found = order;
    while (found <= MAX_ORDER && m_free[found].is_empty())
        found++;
    if (found > MAX_ORDER)
        return nullptr;

    Page* head = m_free[found].pop_front();
    m_free_blocks[found]--;
    u64 pfn = pfn_of(head);
    // Split: keep the lower half, give the upper half back at one order less.
    while (found > order) {
        found--;
        Page* upper = page_of(pfn + (u64(1) << found));
        upper->flags.store(PAGE_FREE, MemoryOrder::Relaxed);
        upper->order = static_cast<u8>(found);
        m_free[found].push_front(*upper);
        m_free_blocks[found]++;
    }
    head->flags.store(0, MemoryOrder::Relaxed);
    head->order = static_cast<u8>(order);
    m_free_pages -= u64(1) << order;
    return head;
}

bool BuddyAllocator::free(Page* page, unsigned order)
{
    if (order > MAX_ORDER || !contains(page))
        return false;
    u64 pfn = pfn_of(page);
    if (!is_aligned(pfn, u64(1) << order) || !contains_pfn(pfn + (u64(1) << order) - 1))
        return false;
    if (page->flags.load(MemoryOrder::Relaxed) & (PAGE_FREE | PAGE_RESERVED))
        return false;
    page->flags.store(0, MemoryOrder::Relaxed);
    insert_block(pfn, order);
    return true;
}

bool BuddyAllocator::check_consistency() const
{
    u64 free_pages = 0;
    for (unsigned order = 0; order <= MAX_ORDER; order++) {
        u64 blocks = 0;
        // The lists are only read here; IntrusiveList iteration needs a non-const list.
        FreeList& list = const_cast<FreeList&>(m_free[order]);
        for (Page& head : list) {
            if (!contains(&head))
                return false;
            u64 pfn = pfn_of(&head);
            if (!(head.flags.load(MemoryOrder::Relaxed) & PAGE_FREE) || head.order != order)
                return false;
            if (!is_aligned(pfn, u64(1) << order) || !contains_pfn(pfn + (u64(1) << order) - 1))
                return false;
            for (u64 i = 1; i < (u64(1) << order); i++) {
                if (page_of(pfn + i)->flags.load(MemoryOrder::Relaxed) & PAGE_FREE)
                    return false;
            }
            if (order < MAX_ORDER) {
                u64 buddy_pfn = pfn ^ (u64(1) << order);
                if (contains_pfn(buddy_pfn)) {
                    const Page* buddy = page_of(buddy_pfn);
                    if ((buddy->flags.load(MemoryOrder::Relaxed) & PAGE_FREE) && buddy->order == order)
                        return false; // should have been merged
                }
            }
            blocks++;
            free_pages += u64(1) << order;
        }
        if (blocks != m_free_blocks[order])
            return false;
    }
    return free_pages == m_free_pages;
}

} // namespace mm
