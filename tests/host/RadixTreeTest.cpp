// kernel/lib/RadixTree: the page cache's index, checked against std::map.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <random>
#include <set>
#include <vector>

#include "kernel/lib/RadixTree.h"

namespace {

const RadixTreeAllocator malloc_allocator = {
    [](usize size) { return malloc(size); },
    [](void* p) { free(p); },
};

// Fails every allocation once `budget` reaches zero.
long failing_budget = -1;
const RadixTreeAllocator failing_allocator = {
    [](usize size) -> void* {
        if (failing_budget == 0)
            return nullptr;
        if (failing_budget > 0)
            failing_budget--;
        return malloc(size);
    },
    [](void* p) { free(p); },
};

void* item_for(u64 index)
{
    // Distinct, non-null, never dereferenced.
    return reinterpret_cast<void*>((index << 4) | 8);
}

} // namespace

TEST(RadixTree, EmptyTree)
{
    RadixTree tree(malloc_allocator);
    u64 index;
    EXPECT_EQ(tree.lookup(0), nullptr);
    EXPECT_EQ(tree.erase(5), nullptr);
    EXPECT_EQ(tree.find_next(0, index), nullptr);
    EXPECT_FALSE(tree.set_tag(0, RadixTree::TAG_DIRTY));
    EXPECT_FALSE(tree.any_tagged(RadixTree::TAG_DIRTY));
    EXPECT_EQ(tree.height(), 0u);
    EXPECT_TRUE(tree.check());
}

TEST(RadixTree, InsertLookupEraseGrowsAndShrinks)
{
    RadixTree tree(malloc_allocator);
    ASSERT_FALSE(tree.insert(3, item_for(3)).is_error());
    EXPECT_EQ(tree.height(), 1u);
    ASSERT_FALSE(tree.insert(1ul << 20, item_for(1ul << 20)).is_error());
    EXPECT_EQ(tree.height(), 4u); // 2^20 needs 21 bits: four 6-bit levels
    ASSERT_FALSE(tree.insert(~0ul, item_for(~0ul)).is_error());
    EXPECT_EQ(tree.height(), 11u); // 64 bits / 6 rounded up
    EXPECT_TRUE(tree.check());

    EXPECT_EQ(tree.insert(3, item_for(7)).error().code(), EEXIST);
    EXPECT_EQ(tree.insert(9, nullptr).error().code(), EINVAL);
    EXPECT_EQ(tree.lookup(3), item_for(3));
    EXPECT_EQ(tree.lookup(1ul << 20), item_for(1ul << 20));
    EXPECT_EQ(tree.lookup(~0ul), item_for(~0ul));
    EXPECT_EQ(tree.lookup(4), nullptr);
    EXPECT_EQ(tree.size(), 3u);

    EXPECT_EQ(tree.erase(~0ul), item_for(~0ul));
    EXPECT_EQ(tree.height(), 4u);
    EXPECT_EQ(tree.erase(1ul << 20), item_for(1ul << 20));
    EXPECT_EQ(tree.height(), 1u);
    EXPECT_TRUE(tree.check());
    EXPECT_EQ(tree.erase(3), item_for(3));
    EXPECT_EQ(tree.height(), 0u);
    EXPECT_EQ(tree.node_count(), 0u);
    EXPECT_TRUE(tree.check());
}

TEST(RadixTree, TagsSummariseUpTheTree)
{
    RadixTree tree(malloc_allocator);
    for (u64 i : { 0ul, 63ul, 64ul, 4095ul, 4096ul, 1000000ul })
        ASSERT_FALSE(tree.insert(i, item_for(i)).is_error());
    EXPECT_TRUE(tree.set_tag(4096, RadixTree::TAG_DIRTY));
    EXPECT_TRUE(tree.set_tag(63, RadixTree::TAG_DIRTY));
    EXPECT_TRUE(tree.set_tag(64, RadixTree::TAG_WRITEBACK));
    EXPECT_TRUE(tree.check());
    EXPECT_TRUE(tree.any_tagged(RadixTree::TAG_DIRTY));
    EXPECT_FALSE(tree.any_tagged(RadixTree::TAG_TOWRITE));
    EXPECT_TRUE(tree.get_tag(4096, RadixTree::TAG_DIRTY));
    EXPECT_FALSE(tree.get_tag(4096, RadixTree::TAG_WRITEBACK));

    u64 index = 0;
    EXPECT_EQ(tree.find_next_tagged(0, RadixTree::TAG_DIRTY, index), item_for(63));
    EXPECT_EQ(index, 63u);
    EXPECT_EQ(tree.find_next_tagged(64, RadixTree::TAG_DIRTY, index), item_for(4096));
    EXPECT_EQ(index, 4096u);
    EXPECT_EQ(tree.find_next_tagged(4097, RadixTree::TAG_DIRTY, index), nullptr);

    EXPECT_TRUE(tree.clear_tag(63, RadixTree::TAG_DIRTY));
    EXPECT_TRUE(tree.check());
    EXPECT_EQ(tree.find_next_tagged(0, RadixTree::TAG_DIRTY, index), item_for(4096));
    // Erasing a tagged item removes its tag summary too.
    EXPECT_EQ(tree.erase(4096), item_for(4096));
    EXPECT_FALSE(tree.any_tagged(RadixTree::TAG_DIRTY));
    EXPECT_TRUE(tree.any_tagged(RadixTree::TAG_WRITEBACK));
    EXPECT_TRUE(tree.check());
}

TEST(RadixTree, GangLookupInIndexOrder)
{
    RadixTree tree(malloc_allocator);
    std::vector<u64> keys = { 5, 1, 900, 64, 65, 1ul << 40, 2 };
    for (u64 k : keys)
        ASSERT_FALSE(tree.insert(k, item_for(k)).is_error());
    void* items[16];
    u64 indices[16];
    usize n = tree.gang_lookup(2, items, indices, 4);
    ASSERT_EQ(n, 4u);
    EXPECT_EQ(indices[0], 2u);
    EXPECT_EQ(indices[1], 5u);
    EXPECT_EQ(indices[2], 64u);
    EXPECT_EQ(indices[3], 65u);
    EXPECT_EQ(items[3], item_for(65));
    n = tree.gang_lookup(66, items, indices, 16);
    ASSERT_EQ(n, 2u);
    EXPECT_EQ(indices[1], 1ul << 40);
}

TEST(RadixTree, AllocationFailureLeavesTreeUnchanged)
{
    RadixTree tree(failing_allocator);
    failing_budget = -1;
    ASSERT_FALSE(tree.insert(1, item_for(1)).is_error());
    const usize nodes_before = tree.node_count();
    for (long budget = 0; budget < 12; budget++) {
        failing_budget = budget;
        auto result = tree.insert(1ul << 50, item_for(1ul << 50));
        failing_budget = -1;
        EXPECT_TRUE(tree.check()) << "budget " << budget;
        if (result.is_error()) {
            EXPECT_EQ(result.error().code(), ENOMEM);
            EXPECT_EQ(tree.lookup(1ul << 50), nullptr);
            EXPECT_EQ(tree.node_count(), nodes_before);
            EXPECT_EQ(tree.size(), 1u);
        } else {
            EXPECT_EQ(tree.lookup(1ul << 50), item_for(1ul << 50));
            break;
        }
    }
    EXPECT_EQ(tree.lookup(1), item_for(1));
}

// Random operations against a model: std::map of index -> item and a set of
// tagged indices per tag. Indices drawn from a few ranges so that the tree
// grows, shrinks, and has dense and sparse regions.
TEST(RadixTree, RandomAgainstModel)
{
    RadixTree tree(malloc_allocator);
    std::map<u64, void*> model;
    std::set<u64> tagged[RadixTree::TAG_COUNT];
    std::mt19937_64 rng(12345);

    auto random_index = [&]() -> u64 {
        switch (rng() % 4) {
        case 0:
            return rng() % 256;
        case 1:
            return rng() % 100000;
        case 2:
            return (rng() % 64) << 30;
        default:
            return rng();
        }
    };
    auto existing_or_random = [&]() -> u64 {
        if (!model.empty() && rng() % 2) {
            auto it = model.lower_bound(random_index());
            if (it == model.end())
                it = model.begin();
            return it->first;
        }
        return random_index();
    };

    for (int step = 0; step < 60000; step++) {
        const unsigned op = rng() % 10;
        const u64 index = existing_or_random();
        const auto tag = static_cast<RadixTree::Tag>(rng() % RadixTree::TAG_COUNT);
        if (op < 3) {
            auto result = tree.insert(index, item_for(index));
            if (model.count(index)) {
                ASSERT_TRUE(result.is_error());
                ASSERT_EQ(result.error().code(), EEXIST);
            } else {
                ASSERT_FALSE(result.is_error());
                model[index] = item_for(index);
            }
        } else if (op < 5) {
            void* erased = tree.erase(index);
            auto it = model.find(index);
            ASSERT_EQ(erased, it == model.end() ? nullptr : it->second);
            if (it != model.end()) {
                model.erase(it);
                for (auto& set : tagged)
                    set.erase(index);
            }
        } else if (op < 6) {
            ASSERT_EQ(tree.lookup(index), model.count(index) ? model[index] : nullptr);
        } else if (op < 7) {
            ASSERT_EQ(tree.set_tag(index, tag), model.count(index) == 1);
            if (model.count(index))
                tagged[tag].insert(index);
        } else if (op < 8) {
            ASSERT_EQ(tree.clear_tag(index, tag), model.count(index) == 1);
            tagged[tag].erase(index);
        } else if (op < 9) {
            u64 found = 0;
            void* item = tree.find_next_tagged(index, tag, found);
            auto it = tagged[tag].lower_bound(index);
            if (it == tagged[tag].end()) {
                ASSERT_EQ(item, nullptr);
            } else {
                ASSERT_EQ(found, *it);
                ASSERT_EQ(item, model[*it]);
            }
            ASSERT_EQ(tree.get_tag(index, tag), tagged[tag].count(index) == 1);
        } else {
            u64 found = 0;
            void* item = tree.find_next(index, found);
            auto it = model.lower_bound(index);
            if (it == model.end()) {
                ASSERT_EQ(item, nullptr);
            } else {
                ASSERT_EQ(found, it->first);
                ASSERT_EQ(item, it->second);
            }
        }
        ASSERT_EQ(tree.size(), model.size());
        for (unsigned t = 0; t < RadixTree::TAG_COUNT; t++) {
            ASSERT_EQ(tree.any_tagged(static_cast<RadixTree::Tag>(t)), !tagged[t].empty());
        }
        if (step % 1000 == 0) {
            ASSERT_TRUE(tree.check()) << "step " << step;
        }
    }
    ASSERT_TRUE(tree.check());

    // Full iteration by tag matches the model exactly.
    for (unsigned t = 0; t < RadixTree::TAG_COUNT; t++) {
        std::vector<u64> seen;
        u64 start = 0;
        u64 found;
        while (tree.find_next_tagged(start, static_cast<RadixTree::Tag>(t), found)) {
            seen.push_back(found);
            if (found == ~0ul)
                break;
            start = found + 1;
        }
        EXPECT_EQ(seen, std::vector<u64>(tagged[t].begin(), tagged[t].end()));
    }

    // Erase everything: no node may survive.
    for (auto& [index, item] : model) {
        ASSERT_EQ(tree.erase(index), item);
    }
    EXPECT_EQ(tree.node_count(), 0u);
    EXPECT_TRUE(tree.check());
}

TEST(RadixTree, DenseSequentialFillAndDrain)
{
    RadixTree tree(malloc_allocator);
    constexpr u64 N = 70000;
    for (u64 i = 0; i < N; i++)
        ASSERT_FALSE(tree.insert(i, item_for(i)).is_error());
    for (u64 i = 0; i < N; i += 3)
        tree.set_tag(i, RadixTree::TAG_DIRTY);
    EXPECT_TRUE(tree.check());
    u64 count = 0;
    void* batch[64];
    u64 indices[64];
    u64 start = 0;
    while (usize n = tree.gang_lookup_tagged(start, RadixTree::TAG_DIRTY, batch, indices, 64)) {
        for (usize i = 0; i < n; i++) {
            EXPECT_EQ(indices[i] % 3, 0u);
        }
        count += n;
        start = indices[n - 1] + 1;
    }
    EXPECT_EQ(count, (N + 2) / 3);
    for (u64 i = 0; i < N; i++)
        ASSERT_EQ(tree.erase(i), item_for(i));
    EXPECT_EQ(tree.node_count(), 0u);
}
