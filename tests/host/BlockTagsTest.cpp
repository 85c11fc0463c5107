// kernel/block: the lock-free tag allocator, alone and under contention.
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>
#include <vector>

#include "kernel/block/QueueMap.h"
#include "kernel/block/Tags.h"

using namespace block;

TEST(Tags, HandsOutEveryTagOnceThenRunsOut)
{
    for (u32 depth : {1u, 7u, 32u, 64u, 100u, 1000u, 1024u}) {
        TagAllocator tags(depth);
        u32 hint = 0;
        std::set<u32> seen;
        for (u32 i = 0; i < depth; i++) {
            const u32 tag = tags.alloc(hint);
            ASSERT_NE(tag, NO_TAG) << "depth " << depth;
            ASSERT_LT(tag, depth);
            EXPECT_TRUE(seen.insert(tag).second);
        }
        EXPECT_EQ(tags.alloc(hint), NO_TAG);
        EXPECT_EQ(tags.in_use(), depth);
        tags.free(*seen.begin());
        EXPECT_EQ(tags.alloc(hint), *seen.begin());
    }
}

TEST(Tags, SmallDepthsAreSpreadOverSeveralWords)
{
    TagAllocator tags(32);
    EXPECT_EQ(tags.word_count(), 4u);
    EXPECT_EQ(tags.bits_per_word(), 8u);
    // Two CPUs with different hints land in different words (cache lines).
    u32 hint_a = 0, hint_b = 2;
    const u32 a = tags.alloc(hint_a);
    const u32 b = tags.alloc(hint_b);
    EXPECT_NE(a / 8, b / 8);
}

TEST(Tags, ContendedAllocationNeverDuplicatesATag)
{
    constexpr u32 depth = 64;
    constexpr int threads = 8;
    constexpr int rounds = 20000;
    TagAllocator tags(depth);
    std::vector<std::atomic<int>> owner(depth);
    for (auto& o : owner)
        o = -1;
    std::atomic<u64> duplicates {0}, exhausted {0};
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; t++) {
        pool.emplace_back([&, t] {
            u32 hint = static_cast<u32>(t);
            std::vector<u32> held;
            for (int i = 0; i < rounds; i++) {
                // Hold up to 12 tags at once so the set runs dry sometimes.
                if (held.size() < 12) {
                    const u32 tag = tags.alloc(hint);
                    if (tag == NO_TAG) {
                        exhausted++;
                    } else {
                        int expected = -1;
                        if (!owner[tag].compare_exchange_strong(expected, t))
                            duplicates++;
                        held.push_back(tag);
                    }
                }
                if (held.size() == 12 || (i % 3 == 0 && !held.empty())) {
                    const u32 tag = held.back();
                    held.pop_back();
                    owner[tag] = -1;
                    tags.free(tag);
                }
            }
            for (u32 tag : held) {
                owner[tag] = -1;
                tags.free(tag);
            }
        });
    }
    for (auto& th : pool)
        th.join();
    EXPECT_EQ(duplicates.load(), 0u);
    EXPECT_EQ(tags.in_use(), 0u);
    (void)exhausted.load();
}

TEST(QueueMap, OneQueuePerCpuWhenThereAreEnough)
{
    u16 map[4];
    map_cpus_to_queues(map, 4, 4);
    EXPECT_EQ(std::vector<u16>(map, map + 4), (std::vector<u16> {0, 1, 2, 3}));
    map_cpus_to_queues(map, 4, 8);
    EXPECT_EQ(std::vector<u16>(map, map + 4), (std::vector<u16> {0, 1, 2, 3}));
}

TEST(QueueMap, FewerQueuesShareEvenlyInContiguousGroups)
{
    u16 map[8];
    map_cpus_to_queues(map, 8, 3);
    EXPECT_EQ(std::vector<u16>(map, map + 8), (std::vector<u16> {0, 0, 0, 1, 1, 1, 2, 2}));
    for (u32 cpus = 1; cpus <= 64; cpus++) {
        for (u32 queues = 1; queues <= 64; queues++) {
            std::vector<u16> m(cpus);
            map_cpus_to_queues(m.data(), cpus, queues);
            std::vector<u32> load(queues);
            for (u32 c = 0; c < cpus; c++) {
                ASSERT_LT(m[c], queues);
                if (c) {
                    ASSERT_GE(m[c], m[c - 1]);
                }
                load[m[c]]++;
            }
            const u32 used = std::min(cpus, queues);
            for (u32 q = 0; q < used; q++) {
                EXPECT_GE(load[q], cpus / used);
                EXPECT_LE(load[q], (cpus + used - 1) / used);
            }
        }
    }
}
