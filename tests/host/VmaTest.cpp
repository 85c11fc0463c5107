// kernel/mm/Vma: the sorted VMA set of a user address space — insert, find,
// split, split_around (hole punching), merging, free-range search — checked
// against a page-granular model in randomised runs.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <vector>

#include "kernel/mm/Vma.h"

namespace mm {

// Host: VMAs from the C++ heap, counted so the tests see leaks.
long g_live_vmas = 0;
bool g_fail_allocations = false;
Vma* allocate_vma()
{
    if (g_fail_allocations)
        return nullptr;
    g_live_vmas++;
    return new Vma;
}
void free_vma(Vma* vma)
{
    g_live_vmas--;
    delete vma;
}

} // namespace mm

namespace {

using mm::Vma;
using mm::VmaList;

constexpr uptr P = PAGE_SIZE;

// A backing that only counts references.
class CountingBacking final : public mm::VmBacking {
public:
    void ref() override { refs++; }
    void unref() override { refs--; }
    u64 size_bytes() const override { return 1ul << 40; }
    Result<Page*> get_page(u64, bool) override { return Error::from_errno(EIO); }
    bool is_resident(u64) override { return false; }
    int refs = 0;
};

Vma* add(VmaList& list, uptr start, uptr end, u32 flags = mm::VMA_READ, mm::VmBacking* backing = nullptr, u64 offset = 0)
{
    Vma* vma = mm::allocate_vma();
    vma->start = start;
    vma->end = end;
    vma->flags = flags;
    vma->backing = backing;
    vma->offset = offset;
    if (backing)
        backing->ref();
    list.insert(*vma);
    return vma;
}

void clear(VmaList& list)
{
    while (Vma* vma = list.list().first()) {
        list.remove(*vma);
        if (vma->backing)
            vma->backing->unref();
        mm::free_vma(vma);
    }
}

std::vector<std::pair<uptr, uptr>> ranges(VmaList& list)
{
    std::vector<std::pair<uptr, uptr>> out;
    for (Vma& vma : list.list())
        out.push_back({vma.start, vma.end});
    return out;
}

TEST(Vma, InsertKeepsOrderAndFindWorks)
{
    VmaList list;
    add(list, 10 * P, 12 * P);
    add(list, 2 * P, 4 * P);
    add(list, 20 * P, 21 * P);
    EXPECT_TRUE(list.check());
    EXPECT_EQ(ranges(list), (std::vector<std::pair<uptr, uptr>>{{2 * P, 4 * P}, {10 * P, 12 * P}, {20 * P, 21 * P}}));
    EXPECT_EQ(list.find(3 * P + 5)->start, 2 * P);
    EXPECT_EQ(list.find(4 * P), nullptr);
    EXPECT_EQ(list.find_first_ending_after(4 * P)->start, 10 * P);
    EXPECT_EQ(list.find_first_ending_after(21 * P), nullptr);
    EXPECT_TRUE(list.is_free(4 * P, 10 * P));
    EXPECT_FALSE(list.is_free(4 * P, 10 * P + 1));
    EXPECT_EQ(list.next(*list.find(2 * P))->start, 10 * P);
    EXPECT_EQ(list.next(*list.find(20 * P)), nullptr);
    EXPECT_EQ(list.previous(*list.find(2 * P)), nullptr);
    clear(list);
    EXPECT_EQ(mm::g_live_vmas, 0);
}

TEST(Vma, SplitAroundPunchesAHoleInTheMiddle)
{
    VmaList list;
    CountingBacking backing;
    add(list, 0x10 * P, 0x20 * P, mm::VMA_READ, &backing, 0x100 * P);
    ASSERT_FALSE(list.split_around(0x14 * P, 0x18 * P).is_error());
    EXPECT_EQ(list.count(), 3u);
    EXPECT_EQ(backing.refs, 3);
    Vma* middle = list.find(0x14 * P);
    EXPECT_EQ(middle->start, 0x14 * P);
    EXPECT_EQ(middle->end, 0x18 * P);
    EXPECT_EQ(middle->offset, 0x104 * P);
    EXPECT_EQ(list.find(0x18 * P)->offset, 0x108 * P);
    EXPECT_EQ(middle->page_index(0x15 * P), 0x105u);
    // Splitting at existing boundaries or outside any VMA changes nothing.
    ASSERT_FALSE(list.split_around(0x14 * P, 0x30 * P).is_error());
    EXPECT_EQ(list.count(), 3u);
    // Removing the middle leaves the hole; merging the rest back is refused
    // (offsets not contiguous across the hole).
    list.remove(*middle);
    middle->backing->unref();
    mm::free_vma(middle);
    EXPECT_TRUE(list.check());
    EXPECT_EQ(ranges(list), (std::vector<std::pair<uptr, uptr>>{{0x10 * P, 0x14 * P}, {0x18 * P, 0x20 * P}}));
    clear(list);
    EXPECT_EQ(backing.refs, 0);
    EXPECT_EQ(mm::g_live_vmas, 0);
}

TEST(Vma, SplitFailureLeavesListIntact)
{
    VmaList list;
    add(list, 0x10 * P, 0x20 * P);
    mm::g_fail_allocations = true;
    EXPECT_EQ(list.split_around(0x14 * P, 0x18 * P).error().code(), ENOMEM);
    mm::g_fail_allocations = false;
    EXPECT_EQ(list.count(), 1u);
    EXPECT_TRUE(list.check());
    clear(list);
}

TEST(Vma, NeighboursMergeOnlyWhenCompatible)
{
    VmaList list;
    CountingBacking backing;
    Vma* a = add(list, 0x10 * P, 0x12 * P, mm::VMA_READ | mm::VMA_WRITE);
    Vma* b = add(list, 0x12 * P, 0x14 * P, mm::VMA_READ);
    add(list, 0x14 * P, 0x16 * P, mm::VMA_READ | mm::VMA_WRITE);
    EXPECT_EQ(list.merge_neighbours(*b), b); // flags differ on both sides
    EXPECT_EQ(list.count(), 3u);
    b->flags = mm::VMA_READ | mm::VMA_WRITE;
    EXPECT_EQ(list.merge_neighbours(*b), a);
    EXPECT_EQ(list.count(), 1u);
    EXPECT_EQ(a->end, 0x16 * P);
    // File VMAs merge only with contiguous offsets of the same backing.
    Vma* f1 = add(list, 0x20 * P, 0x22 * P, mm::VMA_READ, &backing, 0);
    Vma* f2 = add(list, 0x22 * P, 0x24 * P, mm::VMA_READ, &backing, 5 * P);
    EXPECT_FALSE(VmaList::can_merge(*f1, *f2));
    f2->offset = 2 * P;
    EXPECT_EQ(list.merge_neighbours(*f2), f1);
    EXPECT_EQ(backing.refs, 1);
    EXPECT_TRUE(list.check());
    clear(list);
    EXPECT_EQ(mm::g_live_vmas, 0);
}

TEST(Vma, FindFreeRangeIsTopDownAndRespectsBounds)
{
    VmaList list;
    uptr low = 0x10 * P;
    uptr high = 0x100 * P;
    EXPECT_EQ(list.find_free_range(4 * P, low, high).release_value(), high - 4 * P);
    add(list, 0xf0 * P, 0x100 * P);
    add(list, 0xe0 * P, 0xe2 * P);
    EXPECT_EQ(list.find_free_range(4 * P, low, high).release_value(), 0xe2 * P + 0xa * P);
    EXPECT_EQ(list.find_free_range(0xe * P, low, high).release_value(), 0xe2 * P);
    EXPECT_EQ(list.find_free_range(0xf * P, low, high).release_value(), 0xe0 * P - 0xf * P);
    EXPECT_EQ(list.find_free_range(0xd0 * P, low, high).release_value(), low);
    EXPECT_EQ(list.find_free_range(0xd1 * P, low, high).error().code(), ENOMEM);
    EXPECT_EQ(list.find_free_range(0, low, high).error().code(), ENOMEM);
    // A VMA above `high` does not matter.
    add(list, 0x200 * P, 0x300 * P);
    EXPECT_EQ(list.find_free_range(P, low, high).release_value(), 0xf0 * P - P);
    clear(list);
}

// Random map/unmap (hole punching) against a page model.
TEST(Vma, RandomPunchingMatchesAPageModel)
{
    std::mt19937_64 random(42);
    VmaList list;
    constexpr uptr PAGES = 256;
    std::map<uptr, u32> model; // page -> flags
    for (int step = 0; step < 4000; step++) {
        uptr first = random() % PAGES;
        uptr count = 1 + random() % 16;
        uptr last = std::min(PAGES, first + count);
        uptr start = first * P;
        uptr end = last * P;
        u32 flags = 1u << (random() % 3);
        ASSERT_FALSE(list.split_around(start, end).is_error());
        // Remove everything inside, then (half the time) map it fresh.
        Vma* vma = list.find_first_ending_after(start);
        while (vma && vma->start < end) {
            Vma* next = list.next(*vma);
            ASSERT_GE(vma->start, start);
            ASSERT_LE(vma->end, end);
            list.remove(*vma);
            mm::free_vma(vma);
            vma = next;
        }
        for (uptr page = first; page < last; page++)
            model.erase(page);
        if (random() % 2) {
            Vma* fresh = add(list, start, end, flags);
            list.merge_neighbours(*fresh);
            for (uptr page = first; page < last; page++)
                model[page] = flags;
        }
        ASSERT_TRUE(list.check());
        // Every page agrees; neighbours that could merge did.
        for (uptr page = 0; page < PAGES; page++) {
            Vma* found = list.find(page * P);
            auto it = model.find(page);
            ASSERT_EQ(found != nullptr, it != model.end()) << "page " << page;
            if (found) {
                ASSERT_EQ(found->flags, it->second);
            }
        }
    }
    clear(list);
    EXPECT_EQ(mm::g_live_vmas, 0);
}

} // namespace
