// Host tests for the per-CPU interrupt vector allocator (kernel/irq/VectorAllocator).
#include <gtest/gtest.h>

#include "kernel/irq/VectorAllocator.h"

namespace {

constexpr u8 FIRST = 0x30;
constexpr u8 LAST = 0xdf;
constexpr u32 PER_CPU = LAST - FIRST + 1;

TEST(VectorAllocator, AllocatesLowestFreeVectorPerCpu)
{
    VectorAllocator allocator(4, FIRST, LAST);
    auto a = allocator.allocate(0);
    auto b = allocator.allocate(0);
    auto c = allocator.allocate(1);
    ASSERT_FALSE(a.is_error());
    ASSERT_FALSE(b.is_error());
    ASSERT_FALSE(c.is_error());
    EXPECT_EQ(a.value(), FIRST);
    EXPECT_EQ(b.value(), FIRST + 1);
    // CPUs have independent vector spaces.
    EXPECT_EQ(c.value(), FIRST);
    EXPECT_TRUE(allocator.is_allocated(0, FIRST));
    EXPECT_FALSE(allocator.is_allocated(2, FIRST));
    EXPECT_EQ(allocator.free_count(0), PER_CPU - 2);
}

TEST(VectorAllocator, ExhaustionReturnsEnospcAndFreeMakesRoom)
{
    VectorAllocator allocator(1, FIRST, LAST);
    for (u32 i = 0; i < PER_CPU; i++)
        ASSERT_FALSE(allocator.allocate(0).is_error()) << i;
    auto full = allocator.allocate(0);
    ASSERT_TRUE(full.is_error());
    EXPECT_EQ(full.error().code(), ENOSPC);
    EXPECT_FALSE(allocator.free(0, 0x40).is_error());
    auto again = allocator.allocate(0);
    ASSERT_FALSE(again.is_error());
    EXPECT_EQ(again.value(), 0x40);
}

TEST(VectorAllocator, RejectsBadCpuAndDoubleFree)
{
    VectorAllocator allocator(2, FIRST, LAST);
    EXPECT_EQ(allocator.allocate(2).error().code(), EINVAL);
    auto v = allocator.allocate(1);
    ASSERT_FALSE(v.is_error());
    EXPECT_EQ(allocator.free(0, v.value()).error().code(), EINVAL); // wrong CPU
    EXPECT_FALSE(allocator.free(1, v.value()).is_error());
    EXPECT_EQ(allocator.free(1, v.value()).error().code(), EINVAL); // double free
    EXPECT_EQ(allocator.free(1, 0x10).error().code(), EINVAL);     // outside the range
}

TEST(VectorAllocator, AllocateManyBindsEachVectorToItsCpu)
{
    VectorAllocator allocator(4, FIRST, LAST);
    const u32 cpus[] = {0, 1, 2, 3, 0};
    u8 vectors[5] = {};
    ASSERT_FALSE(allocator.allocate_many(cpus, 5, vectors).is_error());
    EXPECT_EQ(vectors[0], FIRST);
    EXPECT_EQ(vectors[1], FIRST);
    EXPECT_EQ(vectors[2], FIRST);
    EXPECT_EQ(vectors[3], FIRST);
    EXPECT_EQ(vectors[4], FIRST + 1); // second vector on CPU 0
    for (int i = 0; i < 5; i++)
        EXPECT_TRUE(allocator.is_allocated(cpus[i], vectors[i]));
}

TEST(VectorAllocator, AllocateManyIsAllOrNothing)
{
    VectorAllocator allocator(2, FIRST, LAST);
    // Fill CPU 1 completely.
    for (u32 i = 0; i < PER_CPU; i++)
        ASSERT_FALSE(allocator.allocate(1).is_error());
    const u32 cpus[] = {0, 0, 1};
    u8 vectors[3] = {};
    auto result = allocator.allocate_many(cpus, 3, vectors);
    ASSERT_TRUE(result.is_error());
    EXPECT_EQ(result.error().code(), ENOSPC);
    EXPECT_EQ(allocator.free_count(0), PER_CPU); // the two on CPU 0 were rolled back
}

TEST(VectorAllocator, BlocksAreAlignedAndContiguous)
{
    VectorAllocator allocator(1, FIRST, LAST);
    ASSERT_FALSE(allocator.allocate(0).is_error()); // 0x30 taken
    auto block = allocator.allocate_block(0, 8);
    ASSERT_FALSE(block.is_error());
    EXPECT_EQ(block.value() % 8, 0);
    EXPECT_EQ(block.value(), 0x38);
    for (u8 v = 0x38; v < 0x40; v++)
        EXPECT_TRUE(allocator.is_allocated(0, v));
    // The hole below the block is still used by single allocations.
    EXPECT_EQ(allocator.allocate(0).value(), 0x31);
    EXPECT_EQ(allocator.allocate_block(0, 3).error().code(), EINVAL); // not a power of two
    EXPECT_EQ(allocator.allocate_block(0, 64).error().code(), EINVAL);
}

TEST(VectorAllocator, StressAllocFreeKeepsCountsConsistent)
{
    VectorAllocator allocator(8, FIRST, LAST);
    u8 held[8][PER_CPU];
    u32 held_count[8] = {};
    unsigned seed = 12345;
    for (int step = 0; step < 100000; step++) {
        seed = seed * 1103515245 + 12345;
        u32 cpu = (seed >> 16) % 8;
        bool do_alloc = ((seed >> 8) & 1) || held_count[cpu] == 0;
        if (do_alloc) {
            auto v = allocator.allocate(cpu);
            if (held_count[cpu] == PER_CPU) {
                ASSERT_TRUE(v.is_error());
                continue;
            }
            ASSERT_FALSE(v.is_error());
            held[cpu][held_count[cpu]++] = v.value();
        } else {
            u32 index = (seed >> 20) % held_count[cpu];
            ASSERT_FALSE(allocator.free(cpu, held[cpu][index]).is_error());
            held[cpu][index] = held[cpu][--held_count[cpu]];
        }
        ASSERT_EQ(allocator.free_count(cpu), PER_CPU - held_count[cpu]);
    }
}

} // namespace
