// drivers/nvme: PRP1/PRP2/PRP-list building (NVMe 1.4 §4.3) from fake DMA
// memory, and the DMA pool the list pages come from.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <set>
#include <vector>

#include "drivers/nvme/Prp.h"
#include "drivers/pci/DmaPool.h"
#include "uapi/errno.h"

using namespace nvme;

namespace {

// Pages from the host heap; "physical" addresses are made up (0x10'0000'0000
// + a counter) so the test sees that PRPs carry phys, not virt.
class FakePageSource final : public DmaPageSource {
public:
    DmaBuffer alloc_page() override
    {
        if (limit && live >= limit)
            return {};
        void* p = std::aligned_alloc(PAGE_SIZE, PAGE_SIZE);
        live++;
        const PhysAddr phys = 0x10'0000'0000ul + (next++) * PAGE_SIZE;
        by_phys[phys] = p;
        return DmaBuffer {p, phys};
    }
    void free_page(DmaBuffer page) override
    {
        by_phys.erase(page.phys);
        std::free(page.virt);
        live--;
    }
    u64* list_at(u64 phys) { return static_cast<u64*>(by_phys.at(phys)); }

    std::map<PhysAddr, void*> by_phys;
    usize live = 0;
    usize limit = 0;
    u64 next = 0;
};

// Every data page address the PRPs describe, in order (following chains).
std::vector<u64> walk(FakePageSource& pages, const PrpDescriptor& d, u32 total_bytes)
{
    std::vector<u64> out;
    out.push_back(d.prp1);
    const u64 first_page_bytes = PAGE_SIZE - (d.prp1 & (PAGE_SIZE - 1));
    if (total_bytes <= first_page_bytes)
        return out;
    const u64 remaining_pages = (total_bytes - first_page_bytes + PAGE_SIZE - 1) / PAGE_SIZE;
    if (remaining_pages == 1) {
        out.push_back(d.prp2);
        return out;
    }
    u64* list = pages.list_at(d.prp2);
    u32 index = 0;
    for (u64 n = 0; n < remaining_pages; n++) {
        if (index == PAGE_SIZE / 8 - 1 && n + 1 < remaining_pages) {
            list = pages.list_at(list[index]); // chain pointer
            index = 0;
        }
        out.push_back(list[index++]);
    }
    return out;
}

} // namespace

TEST(DmaPool, CarvesPagesIntoBlocksAndReturnsThem)
{
    FakePageSource pages;
    {
        DmaPool pool("test256", pages, 256);
        std::set<PhysAddr> seen;
        std::vector<DmaBuffer> blocks;
        for (int i = 0; i < 40; i++) {
            DmaBuffer b = pool.alloc();
            ASSERT_TRUE(b);
            EXPECT_EQ(b.phys % 256, 0u);
            EXPECT_TRUE(seen.insert(b.phys).second);
            blocks.push_back(b);
        }
        EXPECT_EQ(pool.pages(), 3u); // 16 blocks per page
        EXPECT_EQ(pool.blocks_in_use(), 40u);
        for (auto& b : blocks)
            pool.free(b);
        EXPECT_EQ(pool.blocks_in_use(), 0u);
    }
    EXPECT_EQ(pages.live, 0u) << "destroying the pool returns every page";
}

TEST(DmaPool, RespectsItsPageCap)
{
    FakePageSource pages;
    DmaPool pool("capped", pages, PAGE_SIZE, 2);
    DmaBuffer a = pool.alloc(), b = pool.alloc(), c = pool.alloc();
    EXPECT_TRUE(a);
    EXPECT_TRUE(b);
    EXPECT_FALSE(c);
    pool.free(a);
    pool.free(b);
}

TEST(Prp, SinglePageNeedsOnlyPrp1)
{
    FakePageSource pages;
    DmaPool pool("prp", pages, PAGE_SIZE);
    PrpDescriptor d;
    PrpBuilder b(pool, d);
    ASSERT_FALSE(b.add_segment(0x5000 + 512, 1024).is_error());
    b.finish();
    EXPECT_EQ(d.prp1, 0x5200u);
    EXPECT_EQ(d.prp2, 0u);
    EXPECT_EQ(d.list_page_count, 0);
}

TEST(Prp, TwoPagesUsePrp2Directly)
{
    FakePageSource pages;
    DmaPool pool("prp", pages, PAGE_SIZE);
    PrpDescriptor d;
    PrpBuilder b(pool, d);
    // 4 KiB starting 512 bytes into a page crosses into the next page.
    ASSERT_FALSE(b.add_segment(0x8000 + 512, 4096).is_error());
    b.finish();
    EXPECT_EQ(d.prp1, 0x8200u);
    EXPECT_EQ(d.prp2, 0x9000u);
    EXPECT_EQ(d.list_page_count, 0);

    // Two separate page-sized segments: also PRP1 + PRP2.
    PrpDescriptor d2;
    PrpBuilder b2(pool, d2);
    ASSERT_FALSE(b2.add_segment(0x20000, 4096).is_error());
    ASSERT_FALSE(b2.add_segment(0x7000, 4096).is_error());
    b2.finish();
    EXPECT_EQ(d2.prp1, 0x20000u);
    EXPECT_EQ(d2.prp2, 0x7000u);
}

TEST(Prp, ThreeOrMorePagesBuildAList)
{
    FakePageSource pages;
    DmaPool pool("prp", pages, PAGE_SIZE);
    PrpDescriptor d;
    PrpBuilder b(pool, d);
    // 12 KiB from offset 0x800: touches 4 pages.
    ASSERT_FALSE(b.add_segment(0x40800, 0x3000).is_error());
    b.finish();
    ASSERT_EQ(d.list_page_count, 1);
    EXPECT_EQ(d.prp2, d.list_pages[0].phys);
    EXPECT_EQ(walk(pages, d, 0x3000), (std::vector<u64> {0x40800, 0x41000, 0x42000, 0x43000}));
    free_prp_lists(pool, d);
    EXPECT_EQ(pool.blocks_in_use(), 0u);
}

TEST(Prp, ScatteredPagesKeepTheirOrder)
{
    FakePageSource pages;
    DmaPool pool("prp", pages, PAGE_SIZE);
    PrpDescriptor d;
    PrpBuilder b(pool, d);
    const std::vector<u64> addresses = {0x9000, 0x3000, 0x77000, 0x1000, 0x55000};
    for (u64 a : addresses)
        ASSERT_FALSE(b.add_segment(a, 4096).is_error());
    b.finish();
    EXPECT_EQ(walk(pages, d, 5 * 4096), addresses);
    free_prp_lists(pool, d);
}

TEST(Prp, ListsChainAcrossListPages)
{
    FakePageSource pages;
    DmaPool pool("prp", pages, PAGE_SIZE);
    // 1 + 1000 pages: PRP1 + 1000 entries = two list pages (511 data + chain, then 489).
    const u32 page_count = 1001;
    PrpDescriptor d;
    PrpBuilder b(pool, d);
    std::vector<u64> expected;
    for (u32 i = 0; i < page_count; i++) {
        const u64 a = 0x100'0000ul + u64(i) * 2 * PAGE_SIZE; // not contiguous
        expected.push_back(a);
        ASSERT_FALSE(b.add_segment(a, PAGE_SIZE).is_error());
    }
    b.finish();
    EXPECT_EQ(d.list_page_count, 2);
    EXPECT_EQ(walk(pages, d, page_count * PAGE_SIZE), expected);
    // The chain pointer sits in the last slot of the first list page.
    EXPECT_EQ(static_cast<u64*>(d.list_pages[0].virt)[511], d.list_pages[1].phys);
    free_prp_lists(pool, d);
    EXPECT_EQ(pool.blocks_in_use(), 0u);
}

TEST(Prp, ExactlyOneFullListPageNeedsNoChain)
{
    FakePageSource pages;
    DmaPool pool("prp", pages, PAGE_SIZE);
    PrpDescriptor d;
    PrpBuilder b(pool, d);
    ASSERT_FALSE(b.add_segment(0x1000'0000, 513 * PAGE_SIZE).is_error()); // PRP1 + 512 entries
    b.finish();
    EXPECT_EQ(d.list_page_count, 1);
    free_prp_lists(pool, d);
}

TEST(Prp, GapsAndMisalignmentAreRejected)
{
    FakePageSource pages;
    DmaPool pool("prp", pages, PAGE_SIZE);
    {
        PrpDescriptor d;
        PrpBuilder b(pool, d);
        ASSERT_FALSE(b.add_segment(0x1000, 2048).is_error()); // ends mid-page
        auto r = b.add_segment(0x5000, 4096);
        ASSERT_TRUE(r.is_error());
        EXPECT_EQ(r.error().code(), EINVAL);
        free_prp_lists(pool, d);
    }
    {
        PrpDescriptor d;
        PrpBuilder b(pool, d);
        ASSERT_FALSE(b.add_segment(0x1000, 4096).is_error());
        auto r = b.add_segment(0x5200, 512); // later segment with an offset
        ASSERT_TRUE(r.is_error());
        EXPECT_EQ(r.error().code(), EINVAL);
        free_prp_lists(pool, d);
    }
    {
        PrpDescriptor d;
        PrpBuilder b(pool, d);
        EXPECT_TRUE(b.add_segment(0x1002, 512).is_error()); // PRP1 must be dword aligned
    }
}

TEST(Prp, PoolExhaustionIsEnomem)
{
    FakePageSource pages;
    pages.limit = 0;
    DmaPool pool("prp", pages, PAGE_SIZE, 1);
    DmaBuffer hog = pool.alloc();
    ASSERT_TRUE(hog);
    PrpDescriptor d;
    PrpBuilder b(pool, d);
    auto r = b.add_segment(0x10000, 3 * PAGE_SIZE);
    ASSERT_TRUE(r.is_error());
    EXPECT_EQ(r.error().code(), ENOMEM);
    pool.free(hog);
}
