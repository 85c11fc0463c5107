// kernel/mm/BuddyAllocator: splitting, coalescing, alignment, exhaustion,
// counters, double-free rejection and a random alloc/free stress, over a fake
// descriptor array (the allocator never touches the memory it manages).
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <vector>

#include "kernel/mm/BuddyAllocator.h"

using mm::BuddyAllocator;

namespace {

constexpr unsigned MAX_ORDER = BuddyAllocator::MAX_ORDER;
constexpr u64 BLOCK = u64(1) << MAX_ORDER;

struct Zone {
    explicit Zone(u64 first_pfn, u64 count) : pages(count)
    {
        for (Page& page : pages)
            page.flags.store(PAGE_RESERVED, MemoryOrder::Relaxed);
        buddy.init(pages.data(), first_pfn, count);
    }
    std::vector<Page> pages;
    BuddyAllocator buddy;
};

} // namespace

TEST(BuddyAllocator, EmptyZoneHasNothingToGive)
{
    Zone zone(0, 64);
    EXPECT_EQ(zone.buddy.allocate(0), nullptr);
    EXPECT_EQ(zone.buddy.free_pages(), 0u);
    EXPECT_TRUE(zone.buddy.check_consistency());
}

TEST(BuddyAllocator, AlignedRangeBecomesMaximalBlocks)
{
    Zone zone(0, 4 * BLOCK);
    zone.buddy.add_free_range(0, 4 * BLOCK);
    EXPECT_EQ(zone.buddy.free_pages(), 4 * BLOCK);
    EXPECT_EQ(zone.buddy.managed_pages(), 4 * BLOCK);
    EXPECT_EQ(zone.buddy.free_blocks(MAX_ORDER), 4u);
    for (unsigned order = 0; order < MAX_ORDER; order++) {
        EXPECT_EQ(zone.buddy.free_blocks(order), 0u);
    }
    EXPECT_TRUE(zone.buddy.check_consistency());
}

TEST(BuddyAllocator, UnalignedRangeIsCutIntoAlignedBlocks)
{
    // PFNs [3, 3 + 13): 3 (order 0), 4..7 (order 2), 8..15 (order 3).
    Zone zone(0, 64);
    zone.buddy.add_free_range(3, 13);
    EXPECT_EQ(zone.buddy.free_pages(), 13u);
    EXPECT_EQ(zone.buddy.free_blocks(0), 1u);
    EXPECT_EQ(zone.buddy.free_blocks(2), 1u);
    EXPECT_EQ(zone.buddy.free_blocks(3), 1u);
    EXPECT_TRUE(zone.buddy.check_consistency());
}

TEST(BuddyAllocator, SplitsLargerBlockAndCoalescesBack)
{
    Zone zone(0, BLOCK);
    zone.buddy.add_free_range(0, BLOCK);
    Page* page = zone.buddy.allocate(0);
    ASSERT_NE(page, nullptr);
    EXPECT_EQ(zone.buddy.pfn_of(page), 0u);
    EXPECT_EQ(page->order, 0);
    EXPECT_EQ(page->flags.load(MemoryOrder::Relaxed), 0u);
    // One block of each order 0..MAX_ORDER-1 remains.
    for (unsigned order = 0; order < MAX_ORDER; order++) {
        EXPECT_EQ(zone.buddy.free_blocks(order), 1u) << "order " << order;
    }
    EXPECT_EQ(zone.buddy.free_blocks(MAX_ORDER), 0u);
    EXPECT_EQ(zone.buddy.free_pages(), BLOCK - 1);
    EXPECT_TRUE(zone.buddy.check_consistency());

    EXPECT_TRUE(zone.buddy.free(page, 0));
    EXPECT_EQ(zone.buddy.free_blocks(MAX_ORDER), 1u);
    for (unsigned order = 0; order < MAX_ORDER; order++) {
        EXPECT_EQ(zone.buddy.free_blocks(order), 0u);
    }
    EXPECT_EQ(zone.buddy.free_pages(), BLOCK);
    EXPECT_TRUE(zone.buddy.check_consistency());
}

TEST(BuddyAllocator, BlocksAreAlignedToTheirSize)
{
    Zone zone(0x100, 8 * BLOCK); // first PFN itself aligned to 256 only
    zone.buddy.add_free_range(0x100, 8 * BLOCK);
    std::vector<std::pair<Page*, unsigned>> held;
    std::mt19937_64 random(1);
    for (int i = 0; i < 200; i++) {
        unsigned order = static_cast<unsigned>(random() % (MAX_ORDER + 1));
        Page* page = zone.buddy.allocate(order);
        if (!page)
            continue;
        EXPECT_EQ(zone.buddy.pfn_of(page) % (u64(1) << order), 0u) << "order " << order;
        held.push_back({page, order});
    }
    for (auto [page, order] : held) {
        EXPECT_TRUE(zone.buddy.free(page, order));
    }
    EXPECT_EQ(zone.buddy.free_pages(), 8 * BLOCK);
    EXPECT_TRUE(zone.buddy.check_consistency());
}

TEST(BuddyAllocator, BuddiesOutsideTheZoneAreNotMerged)
{
    // Zone [1, 4): pfn 1 is an order-0 block whose buddy (0) is outside.
    Zone zone(1, 3);
    zone.buddy.add_free_range(1, 3);
    EXPECT_EQ(zone.buddy.free_blocks(0), 1u); // pfn 1
    EXPECT_EQ(zone.buddy.free_blocks(1), 1u); // pfns 2..3
    Page* a = zone.buddy.allocate(0);
    ASSERT_NE(a, nullptr);
    EXPECT_TRUE(zone.buddy.free(a, 0));
    EXPECT_EQ(zone.buddy.free_blocks(0), 1u);
    EXPECT_EQ(zone.buddy.free_blocks(2), 0u);
    EXPECT_TRUE(zone.buddy.check_consistency());
}

TEST(BuddyAllocator, ExhaustionReturnsNullAndRecovers)
{
    Zone zone(0, 64);
    zone.buddy.add_free_range(0, 64);
    std::vector<Page*> pages;
    while (Page* page = zone.buddy.allocate(0))
        pages.push_back(page);
    EXPECT_EQ(pages.size(), 64u);
    EXPECT_EQ(zone.buddy.free_pages(), 0u);
    EXPECT_EQ(zone.buddy.allocate(0), nullptr);
    EXPECT_EQ(zone.buddy.allocate(3), nullptr);
    for (Page* page : pages) {
        EXPECT_TRUE(zone.buddy.free(page, 0));
    }
    EXPECT_EQ(zone.buddy.free_pages(), 64u);
    EXPECT_EQ(zone.buddy.free_blocks(6), 1u); // all merged back into one 64-page block
    Page* whole = zone.buddy.allocate(6);
    ASSERT_NE(whole, nullptr);
    EXPECT_EQ(zone.buddy.pfn_of(whole), 0u);
}

TEST(BuddyAllocator, OrderAboveMaxIsRefused)
{
    Zone zone(0, 2 * BLOCK);
    zone.buddy.add_free_range(0, 2 * BLOCK);
    EXPECT_EQ(zone.buddy.allocate(MAX_ORDER + 1), nullptr);
    Page* page = zone.buddy.allocate(MAX_ORDER);
    ASSERT_NE(page, nullptr);
    EXPECT_FALSE(zone.buddy.free(page, MAX_ORDER + 1));
    EXPECT_TRUE(zone.buddy.free(page, MAX_ORDER));
}

TEST(BuddyAllocator, RejectsDoubleFreeMisalignedAndForeignPages)
{
    Zone zone(0, 64);
    zone.buddy.add_free_range(8, 56); // pfns 0..7 stay reserved
    Page* page = zone.buddy.allocate(1);
    ASSERT_NE(page, nullptr);
    EXPECT_TRUE(zone.buddy.free(page, 1));
    EXPECT_FALSE(zone.buddy.free(page, 1)); // double free
    Page* block = zone.buddy.allocate(2);
    ASSERT_NE(block, nullptr);
    EXPECT_FALSE(zone.buddy.free(block + 1, 0 + 1)); // not aligned to order 1
    EXPECT_FALSE(zone.buddy.free(&zone.pages[0], 0)); // reserved
    Page outside{};
    EXPECT_FALSE(zone.buddy.free(&outside, 0));
    EXPECT_TRUE(zone.buddy.free(block, 2));
    EXPECT_EQ(zone.buddy.free_pages(), 56u);
    EXPECT_TRUE(zone.buddy.check_consistency());
}

TEST(BuddyAllocator, RandomAllocFreeStressKeepsInvariants)
{
    constexpr u64 PAGES = 16 * BLOCK + 77; // ragged end
    Zone zone(0, PAGES);
    zone.buddy.add_free_range(5, PAGES - 5);
    const u64 initial_free = zone.buddy.free_pages();
    std::mt19937_64 random(42);
    std::map<u64, unsigned> held; // pfn -> order
    std::vector<u8> owner(PAGES, 0);
    u64 held_pages = 0;
    for (int step = 0; step < 200000; step++) {
        bool do_alloc = held.empty() || random() % 100 < 55;
        if (do_alloc) {
            unsigned order = static_cast<unsigned>(random() % 4 == 0 ? random() % (MAX_ORDER + 1) : random() % 3);
            Page* page = zone.buddy.allocate(order);
            if (!page)
                continue;
            u64 pfn = zone.buddy.pfn_of(page);
            ASSERT_EQ(pfn % (u64(1) << order), 0u);
            for (u64 i = 0; i < (u64(1) << order); i++) {
                ASSERT_EQ(owner[pfn + i], 0) << "page handed out twice";
                owner[pfn + i] = 1;
            }
            held[pfn] = order;
            held_pages += u64(1) << order;
        } else {
            auto it = held.begin();
            std::advance(it, static_cast<long>(random() % held.size()));
            for (u64 i = 0; i < (u64(1) << it->second); i++)
                owner[it->first + i] = 0;
            ASSERT_TRUE(zone.buddy.free(zone.buddy.page_of(it->first), it->second));
            held_pages -= u64(1) << it->second;
            held.erase(it);
        }
        ASSERT_EQ(zone.buddy.free_pages() + held_pages, initial_free);
        if (step % 5000 == 0) {
            ASSERT_TRUE(zone.buddy.check_consistency());
        }
    }
    for (auto [pfn, order] : held) {
        ASSERT_TRUE(zone.buddy.free(zone.buddy.page_of(pfn), order));
    }
    EXPECT_EQ(zone.buddy.free_pages(), initial_free);
    EXPECT_TRUE(zone.buddy.check_consistency());
    // Fully coalesced again: the same block layout as a fresh add_free_range.
    Zone fresh(0, PAGES);
    fresh.buddy.add_free_range(5, PAGES - 5);
    for (unsigned order = 0; order <= MAX_ORDER; order++) {
        EXPECT_EQ(zone.buddy.free_blocks(order), fresh.buddy.free_blocks(order)) << "order " << order;
    }
}
