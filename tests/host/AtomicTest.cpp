// kernel/lib/Atomic.h: every operation's result, and read-modify-writes that
// stay exact when several threads race on one value.
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "kernel/lib/Atomic.h"

TEST(Atomic, LoadStoreExchange)
{
    Atomic<u32> value;
    EXPECT_EQ(value.load(MemoryOrder::Relaxed), 0u);
    value.store(7, MemoryOrder::Release);
    EXPECT_EQ(value.load(MemoryOrder::Acquire), 7u);
    EXPECT_EQ(value.exchange(9, MemoryOrder::AcqRel), 7u);
    EXPECT_EQ(value.load(MemoryOrder::SeqCst), 9u);

    Atomic<bool> flag{true};
    EXPECT_TRUE(flag.exchange(false, MemoryOrder::SeqCst));
    EXPECT_FALSE(flag.load(MemoryOrder::Relaxed));
}

TEST(Atomic, CompareExchangeReportsTheCurrentValue)
{
    Atomic<u64> value{5};
    u64 expected = 4;
    EXPECT_FALSE(value.compare_exchange_strong(expected, 10, MemoryOrder::AcqRel));
    EXPECT_EQ(expected, 5u); // the current value comes back on failure
    EXPECT_EQ(value.load(MemoryOrder::Relaxed), 5u);
    EXPECT_TRUE(value.compare_exchange_strong(expected, 10, MemoryOrder::Release, MemoryOrder::Relaxed));
    EXPECT_EQ(value.load(MemoryOrder::Relaxed), 10u);

    expected = 10;
    while (!value.compare_exchange_weak(expected, 11, MemoryOrder::SeqCst)) {
        ASSERT_EQ(expected, 10u); // spurious failures only
    }
    EXPECT_EQ(value.load(MemoryOrder::Relaxed), 11u);
}

TEST(Atomic, ArithmeticAndBits)
{
    Atomic<i32> value{10};
    EXPECT_EQ(value.fetch_add(5, MemoryOrder::Relaxed), 10);
    EXPECT_EQ(value.fetch_sub(20, MemoryOrder::Relaxed), 15);
    EXPECT_EQ(value.load(MemoryOrder::Relaxed), -5);
    EXPECT_EQ(value.add_fetch(6, MemoryOrder::Relaxed), 1);
    EXPECT_EQ(value.sub_fetch(2, MemoryOrder::Relaxed), -1);

    Atomic<u8> bits{0b1010};
    EXPECT_EQ(bits.fetch_or(0b0101, MemoryOrder::Relaxed), 0b1010);
    EXPECT_EQ(bits.fetch_and(0b0110, MemoryOrder::Relaxed), 0b1111);
    EXPECT_EQ(bits.fetch_xor(0b0011, MemoryOrder::Relaxed), 0b0110);
    EXPECT_EQ(bits.load(MemoryOrder::Relaxed), 0b0101);

    Atomic<u16> wraps{0xffff};
    EXPECT_EQ(wraps.add_fetch(1, MemoryOrder::Relaxed), 0);
}

TEST(Atomic, PointersStepByElements)
{
    u64 array[4] = {};
    Atomic<u64*> cursor{array};
    EXPECT_EQ(cursor.fetch_add(2, MemoryOrder::Relaxed), array);
    EXPECT_EQ(cursor.load(MemoryOrder::Relaxed), array + 2);
    EXPECT_EQ(cursor.fetch_sub(1, MemoryOrder::Relaxed), array + 2);
    EXPECT_EQ(cursor.load(MemoryOrder::Relaxed), array + 1);
    u64* expected = array + 1;
    EXPECT_TRUE(cursor.compare_exchange_strong(expected, nullptr, MemoryOrder::AcqRel));
    EXPECT_EQ(cursor.load(MemoryOrder::Acquire), nullptr);
}

TEST(Atomic, EnumsAndRefs)
{
    enum class State : u8 { Idle, Busy };
    Atomic<State> state{State::Idle};
    State expected = State::Idle;
    EXPECT_TRUE(state.compare_exchange_strong(expected, State::Busy, MemoryOrder::Acquire));
    EXPECT_EQ(state.load(MemoryOrder::Relaxed), State::Busy);

    struct Wire {
        u16 flags;
        u16 index;
    } ring{1, 2};
    AtomicRef index(ring.index);
    index.store(3, MemoryOrder::Release);
    EXPECT_EQ(ring.index, 3);
    EXPECT_EQ(AtomicRef(ring.flags).fetch_add(1, MemoryOrder::Relaxed), 1);
    EXPECT_EQ(ring.flags, 2);
}

TEST(Atomic, RacingIncrementsAreExact)
{
    constexpr int THREADS = 4;
    constexpr int ROUNDS = 100000;
    Atomic<u64> counter;
    Atomic<u64> cas_counter;
    std::vector<std::thread> threads;
    for (int t = 0; t < THREADS; t++) {
        threads.emplace_back([&] {
            for (int i = 0; i < ROUNDS; i++) {
                counter.fetch_add(1, MemoryOrder::Relaxed);
                u64 seen = cas_counter.load(MemoryOrder::Relaxed);
                while (!cas_counter.compare_exchange_weak(seen, seen + 1, MemoryOrder::Relaxed)) {
                }
            }
        });
    }
    for (auto& thread : threads)
        thread.join();
    EXPECT_EQ(counter.load(MemoryOrder::Relaxed), u64(THREADS) * ROUNDS);
    EXPECT_EQ(cas_counter.load(MemoryOrder::Relaxed), u64(THREADS) * ROUNDS);
}

TEST(Atomic, ReleaseAcquirePublishes)
{
    // A message written before a release store is seen by the acquire load
    // that reads the store (the pattern every "ready" flag relies on).
    for (int round = 0; round < 200; round++) {
        u64 message = 0;
        Atomic<bool> ready;
        std::thread producer([&] {
            message = 42;
            ready.store(true, MemoryOrder::Release);
        });
        while (!ready.load(MemoryOrder::Acquire)) {
        }
        EXPECT_EQ(message, 42u);
        producer.join();
    }
}

static_assert(sizeof(Atomic<u32>) == 4 && alignof(Atomic<u64>) == 8);
