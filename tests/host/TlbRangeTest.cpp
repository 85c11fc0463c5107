// kernel/irq/TlbRange.h: which pages a TLB shootdown invalidates.
#include <gtest/gtest.h>

#include "kernel/irq/TlbRange.h"

TEST(TlbRange, PagesOfAnUnalignedRange)
{
    TlbPages pages = tlb_pages(0x1000 + 0x10, 0x2000);
    EXPECT_FALSE(pages.full);
    EXPECT_EQ(pages.first, 0x1000u);
    EXPECT_EQ(pages.count, 3u); // 0x1010..0x300f touches three pages
}

// Defect: the end (start + length) wrapped to 0 and the loop flushed nothing.
TEST(TlbRange, RangeEndingAtTheTopOfTheAddressSpace)
{
    const uptr last_page = ~uptr(0) - PAGE_SIZE + 1;
    TlbPages pages = tlb_pages(last_page, PAGE_SIZE);
    EXPECT_FALSE(pages.full);
    EXPECT_EQ(pages.first, last_page);
    EXPECT_EQ(pages.count, 1u);
    pages = tlb_pages(last_page - 3 * PAGE_SIZE, 4 * PAGE_SIZE);
    EXPECT_EQ(pages.first, last_page - 3 * PAGE_SIZE);
    EXPECT_EQ(pages.count, 4u);
    EXPECT_EQ(pages.first + (pages.count - 1) * PAGE_SIZE, last_page);
}

TEST(TlbRange, LargeOrEmptyRangesFlushEverything)
{
    EXPECT_TRUE(tlb_pages(0x1000, 0).full);
    EXPECT_TRUE(tlb_pages(0x1000, (TLB_SINGLE_PAGE_LIMIT + 1) * PAGE_SIZE).full);
    EXPECT_TRUE(tlb_pages(0x1000, ~usize(0)).full); // no overflow in the page count
    EXPECT_FALSE(tlb_pages(0x1000, TLB_SINGLE_PAGE_LIMIT * PAGE_SIZE).full);
    EXPECT_TRUE(tlb_pages(0x1800, TLB_SINGLE_PAGE_LIMIT * PAGE_SIZE).full); // 33 pages touched
}
