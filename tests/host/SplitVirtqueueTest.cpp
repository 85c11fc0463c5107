// drivers/virtio/SplitVirtqueue: chains (direct and indirect), running out of
// descriptors, 16-bit index wrap-around, event-index math, both kinds of
// notification suppression, a device that breaks the rules, and a device on
// another thread, all against fake DMA memory and a fake device.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <random>
#include <thread>

#include "drivers/virtio/SplitRing.h"
#include "drivers/virtio/SplitVirtqueue.h"
#include "tests/host/FakeVirtioDevice.h"

using virtio::Segment;
using virtio::SplitVirtqueue;
using virtio::UsedBuffer;

namespace {

void* token_of(uptr n) { return reinterpret_cast<void*>(n); }

// header (readable), `data` segments of 512 bytes (writable when `read`), status (writable).
std::vector<Segment> request_chain(fake::DmaArena& dma, usize data, bool read = true)
{
    std::vector<Segment> segments;
    segments.push_back({ dma.allocate(16, 16).phys, 16, false });
    for (usize i = 0; i < data; i++)
        segments.push_back({ dma.allocate(512, 512).phys, 512, read });
    segments.push_back({ dma.allocate(1, 1).phys, 1, true });
    return segments;
}

} // namespace

TEST(SplitRing, NeedEventAcrossWrap)
{
    using virtio::need_event;
    // The event index lies in [old, new): notify.
    EXPECT_TRUE(need_event(5, 6, 5));
    EXPECT_TRUE(need_event(5, 10, 0));
    EXPECT_TRUE(need_event(0, 10, 0));
    EXPECT_TRUE(need_event(9, 10, 0));
    // Not yet reached, or already passed before this batch.
    EXPECT_FALSE(need_event(10, 10, 0));
    EXPECT_FALSE(need_event(4, 10, 5));
    EXPECT_FALSE(need_event(5, 5, 5)); // nothing moved
    // Across the 16-bit wrap: old 0xfffe, new 0x0002 covers fffe, ffff, 0, 1.
    EXPECT_TRUE(need_event(0xfffe, 0x0002, 0xfffe));
    EXPECT_TRUE(need_event(0xffff, 0x0002, 0xfffe));
    EXPECT_TRUE(need_event(0x0000, 0x0002, 0xfffe));
    EXPECT_TRUE(need_event(0x0001, 0x0002, 0xfffe));
    EXPECT_FALSE(need_event(0x0002, 0x0002, 0xfffe));
    EXPECT_FALSE(need_event(0xfffd, 0x0002, 0xfffe));
    EXPECT_FALSE(need_event(0x8000, 0x0002, 0xfffe));
    // A full 2^16 - 1 step covers every index but new itself.
    EXPECT_TRUE(need_event(0x1234, 0x0000, 0x0001));
    EXPECT_FALSE(need_event(0x0000, 0x0000, 0x0001));

    // Against the definition, exhaustively over event indices for some batches.
    for (u32 old_idx : { 0u, 1u, 0x7fffu, 0xfff0u, 0xffffu }) {
        for (u32 step : { 1u, 2u, 17u, 256u }) {
            const u16 new_idx = u16(old_idx + step);
            for (u32 event = 0; event < 0x10000; event++) {
                const bool crossed = u16(event - old_idx) < step;
                ASSERT_EQ(need_event(u16(event), new_idx, u16(old_idx)), crossed)
                    << "event " << event << " old " << old_idx << " step " << step;
            }
        }
    }
}

TEST(SplitRing, LayoutAlignmentAndSizes)
{
    for (u32 size = 1; size <= virtio::SPLIT_QUEUE_MAX_SIZE; size *= 2) {
        const virtio::RingLayout layout = virtio::ring_layout(u16(size));
        EXPECT_EQ(layout.descriptors_offset, 0u);
        EXPECT_EQ(layout.avail_offset, 16u * size);
        EXPECT_EQ(layout.avail_offset % virtio::AVAIL_RING_ALIGN, 0u);
        EXPECT_EQ(layout.used_offset % virtio::USED_RING_ALIGN, 0u);
        EXPECT_EQ(layout.used_offset % 64, 0u);
        EXPECT_GE(layout.used_offset, layout.avail_offset + 6 + 2 * size);
        EXPECT_EQ(layout.total_bytes, layout.used_offset + 6 + 8 * size);
    }
}

TEST(SplitVirtqueue, ValidateRejectsBadGeometry)
{
    fake::DmaArena dma(1 << 20);
    virtio::DmaRegion ring = dma.allocate(SplitVirtqueue::ring_bytes(256), 4096);
    virtio::DmaRegion pool = dma.allocate(256 * 8 * 16, 16);
    auto options = fake::QueueFixture::options(256, true, 8);
    EXPECT_FALSE(SplitVirtqueue::validate(options, ring, pool).is_error());

    auto bad = options;
    bad.size = 100; // not a power of two
    EXPECT_EQ(SplitVirtqueue::validate(bad, ring, pool).error().code(), EINVAL);
    bad.size = 0;
    EXPECT_TRUE(SplitVirtqueue::validate(bad, ring, pool).is_error());
    bad = options;
    bad.max_indirect_entries = 512; // longer than the queue
    EXPECT_TRUE(SplitVirtqueue::validate(bad, ring, pool).is_error());
    bad.max_indirect_entries = 1; // a table of one is pointless and never used
    EXPECT_TRUE(SplitVirtqueue::validate(bad, ring, pool).is_error());

    virtio::DmaRegion small = ring;
    small.size_bytes -= 1;
    EXPECT_TRUE(SplitVirtqueue::validate(options, small, pool).is_error());
    virtio::DmaRegion misaligned = ring;
    misaligned.phys += 8;
    EXPECT_TRUE(SplitVirtqueue::validate(options, misaligned, pool).is_error());
    virtio::DmaRegion small_pool = pool;
    small_pool.size_bytes -= 16;
    EXPECT_TRUE(SplitVirtqueue::validate(options, ring, small_pool).is_error());
    // Without indirect descriptors no pool is needed.
    auto direct = options;
    direct.max_indirect_entries = 0;
    EXPECT_FALSE(SplitVirtqueue::validate(direct, ring, {}).is_error());

    // A queue built from bad arguments refuses to work instead of corrupting memory.
    std::vector<SplitVirtqueue::DescriptorState> state(256);
    SplitVirtqueue broken(bad, ring, pool, state.data());
    EXPECT_TRUE(broken.is_broken());
    Segment s{ ring.phys, 16, false };
    EXPECT_EQ(broken.add_chain(&s, 1, token_of(1)).error().code(), EIO);
}

TEST(SplitVirtqueue, InitialStateZeroesRings)
{
    fake::QueueFixture f(64, true, 0);
    fake::SplitDevice device(f.dma, f.queue);
    EXPECT_EQ(f.queue.free_descriptors(), 64u);
    EXPECT_EQ(f.queue.in_flight(), 0u);
    EXPECT_EQ(device.avail_idx(), 0u);
    EXPECT_EQ(device.used_idx(), 0u);
    EXPECT_EQ(device.avail_flags(), 0u);
    EXPECT_EQ(device.used_event(), 0u); // interrupt for the first used buffer
    EXPECT_FALSE(f.queue.has_used());
    UsedBuffer b;
    EXPECT_FALSE(f.queue.pop_used(b));
    EXPECT_FALSE(f.queue.publish()); // nothing to publish, nothing to notify
}

TEST(SplitVirtqueue, DirectChainWithoutIndirectFeature)
{
    fake::QueueFixture f(16, false, 0);
    fake::SplitDevice device(f.dma, f.queue);
    auto chain = request_chain(f.dma, 3);

    auto head = f.queue.add_chain(chain.data(), chain.size(), token_of(42));
    ASSERT_FALSE(head.is_error());
    EXPECT_EQ(f.queue.free_descriptors(), 16u - 5);
    EXPECT_EQ(device.pending(), 0u) << "visible before publish()";
    EXPECT_TRUE(f.queue.publish());
    EXPECT_EQ(device.pending(), 1u);

    auto seen = device.pop();
    ASSERT_TRUE(seen.has_value());
    EXPECT_EQ(seen->head, head.value());
    EXPECT_FALSE(seen->indirect);
    ASSERT_EQ(seen->buffers.size(), chain.size());
    for (usize i = 0; i < chain.size(); i++) {
        EXPECT_EQ(seen->buffers[i].phys, chain[i].phys);
        EXPECT_EQ(seen->buffers[i].len, chain[i].length_bytes);
        EXPECT_EQ(seen->buffers[i].device_writes, chain[i].device_writes);
    }
    device.complete(seen->head, 3 * 512 + 1);
    EXPECT_TRUE(device.flush());

    UsedBuffer used;
    ASSERT_TRUE(f.queue.pop_used(used));
    EXPECT_EQ(used.token, token_of(42));
    EXPECT_EQ(used.written_bytes, 3u * 512 + 1);
    EXPECT_EQ(f.queue.free_descriptors(), 16u);
    EXPECT_EQ(f.queue.in_flight(), 0u);
    EXPECT_FALSE(f.queue.pop_used(used));
}

TEST(SplitVirtqueue, IndirectTablePolicy)
{
    fake::QueueFixture f(16, false, 8);
    fake::SplitDevice device(f.dma, f.queue);

    // Two or more segments that fit the table: one ring descriptor.
    auto chain = request_chain(f.dma, 4); // 6 segments
    ASSERT_FALSE(f.queue.add_chain(chain.data(), chain.size(), token_of(1)).is_error());
    EXPECT_EQ(f.queue.free_descriptors(), 15u);
    // A single segment goes direct.
    Segment single{ f.dma.allocate(64).phys, 64, true };
    ASSERT_FALSE(f.queue.add_chain(&single, 1, token_of(2)).is_error());
    EXPECT_EQ(f.queue.free_descriptors(), 14u);
    // Longer than the table: direct, one ring descriptor per segment.
    auto long_chain = request_chain(f.dma, 8); // 10 segments
    ASSERT_FALSE(f.queue.add_chain(long_chain.data(), long_chain.size(), token_of(3)).is_error());
    EXPECT_EQ(f.queue.free_descriptors(), 4u);
    f.queue.publish();

    auto a = device.pop();
    auto b = device.pop();
    auto c = device.pop();
    ASSERT_TRUE(a && b && c);
    EXPECT_TRUE(a->indirect);
    EXPECT_EQ(a->buffers.size(), 6u);
    for (usize i = 0; i < chain.size(); i++) {
        EXPECT_EQ(a->buffers[i].phys, chain[i].phys);
        EXPECT_EQ(a->buffers[i].device_writes, chain[i].device_writes);
    }
    EXPECT_FALSE(b->indirect);
    EXPECT_EQ(b->buffers.size(), 1u);
    EXPECT_FALSE(c->indirect);
    EXPECT_EQ(c->buffers.size(), 10u);

    // Complete out of order; every descriptor comes back.
    device.complete(c->head, 0);
    device.complete(a->head, 2049);
    device.complete(b->head, 64);
    device.flush();
    UsedBuffer used;
    std::vector<void*> order;
    while (f.queue.pop_used(used))
        order.push_back(used.token);
    EXPECT_EQ(order, (std::vector<void*>{ token_of(3), token_of(1), token_of(2) }));
    EXPECT_EQ(f.queue.free_descriptors(), 16u);
}

TEST(SplitVirtqueue, IndirectTablesAreDistinctPerHead)
{
    // Tables of chains in flight together must not overlap.
    fake::QueueFixture f(8, false, 4);
    fake::SplitDevice device(f.dma, f.queue);
    std::vector<std::vector<Segment>> chains;
    for (int i = 0; i < 8; i++) {
        chains.push_back(request_chain(f.dma, 2));
        ASSERT_FALSE(f.queue.add_chain(chains.back().data(), 4, token_of(i + 1)).is_error());
    }
    EXPECT_EQ(f.queue.free_descriptors(), 0u);
    f.queue.publish();
    for (int i = 0; i < 8; i++) {
        auto seen = device.pop();
        ASSERT_TRUE(seen);
        ASSERT_EQ(seen->buffers.size(), 4u);
        EXPECT_EQ(seen->buffers[1].phys, chains[i][1].phys) << "chain " << i;
    }
}

TEST(SplitVirtqueue, RunningOutOfDescriptors)
{
    fake::QueueFixture f(8, false, 0);
    fake::SplitDevice device(f.dma, f.queue);
    auto chain = request_chain(f.dma, 1); // 3 descriptors each
    ASSERT_FALSE(f.queue.add_chain(chain.data(), 3, token_of(1)).is_error());
    ASSERT_FALSE(f.queue.add_chain(chain.data(), 3, token_of(2)).is_error());
    EXPECT_EQ(f.queue.free_descriptors(), 2u);
    auto full = f.queue.add_chain(chain.data(), 3, token_of(3));
    ASSERT_TRUE(full.is_error());
    EXPECT_EQ(full.error().code(), ENOSPC);
    EXPECT_EQ(f.queue.free_descriptors(), 2u) << "a failed add consumed descriptors";
    EXPECT_EQ(f.queue.in_flight(), 2u);
    // Longer than the whole queue can never fit.
    auto huge = request_chain(f.dma, 7); // 9 > 8
    EXPECT_EQ(f.queue.add_chain(huge.data(), huge.size(), token_of(4)).error().code(), EINVAL);

    f.queue.publish();
    auto seen = device.pop();
    ASSERT_TRUE(seen);
    device.complete(seen->head, 1);
    device.flush();
    UsedBuffer used;
    ASSERT_TRUE(f.queue.pop_used(used));
    EXPECT_EQ(used.token, token_of(1));
    EXPECT_FALSE(f.queue.add_chain(chain.data(), 3, token_of(3)).is_error());
    f.queue.publish();
    auto second = device.pop();
    auto third = device.pop();
    ASSERT_TRUE(second && third);
    EXPECT_EQ(third->buffers.size(), 3u);
}

TEST(SplitVirtqueue, IndirectQueueHoldsSizeRequests)
{
    fake::QueueFixture f(32, true, 16);
    auto chain = request_chain(f.dma, 14); // 16 segments: exactly one table
    for (uptr i = 0; i < 32; i++)
        ASSERT_FALSE(f.queue.add_chain(chain.data(), chain.size(), token_of(i + 1)).is_error());
    EXPECT_EQ(f.queue.add_chain(chain.data(), chain.size(), token_of(99)).error().code(), ENOSPC);
    EXPECT_EQ(f.queue.in_flight(), 32u);
}

TEST(SplitVirtqueue, MalformedChainsConsumeNothing)
{
    fake::QueueFixture f(16, false, 8);
    fake::SplitDevice device(f.dma, f.queue);
    const PhysAddr p = f.dma.allocate(4096).phys;

    Segment readable_after_writable[] = { { p, 16, false }, { p + 16, 16, true }, { p + 32, 16, false } };
    Segment zero_length[] = { { p, 16, false }, { p + 16, 0, true } };
    Segment over_4g[] = { { p, 0xffffffffu, false }, { p, 2, true } };
    for (bool indirect_sized : { true, false }) {
        (void)indirect_sized;
        EXPECT_EQ(f.queue.add_chain(readable_after_writable, 3, token_of(1)).error().code(), EINVAL);
        EXPECT_EQ(f.queue.add_chain(zero_length, 2, token_of(1)).error().code(), EINVAL);
        EXPECT_EQ(f.queue.add_chain(over_4g, 2, token_of(1)).error().code(), EINVAL);
    }
    EXPECT_EQ(f.queue.add_chain(zero_length, 0, token_of(1)).error().code(), EINVAL);
    EXPECT_EQ(f.queue.add_chain(zero_length, 1, nullptr).error().code(), EINVAL);
    // Direct chains (longer than the table) fail the same way, midway.
    std::vector<Segment> long_bad(12, Segment{ p, 16, true });
    long_bad[11].device_writes = false;
    EXPECT_EQ(f.queue.add_chain(long_bad.data(), long_bad.size(), token_of(1)).error().code(), EINVAL);

    EXPECT_EQ(f.queue.free_descriptors(), 16u);
    EXPECT_EQ(f.queue.in_flight(), 0u);
    EXPECT_FALSE(f.queue.publish());
    EXPECT_EQ(device.pending(), 0u);

    // And the queue still works afterwards, with the full free list.
    std::vector<Segment> good(16, Segment{ p, 16, true });
    ASSERT_FALSE(f.queue.add_chain(good.data(), 1, token_of(7)).is_error());
    ASSERT_FALSE(f.queue.add_chain(good.data(), 15, token_of(8)).is_error()); // direct, 15
    EXPECT_EQ(f.queue.free_descriptors(), 0u);
}

TEST(SplitVirtqueue, SegmentCallbackCalledOncePerSegmentInOrder)
{
    fake::QueueFixture f(16, false, 8);
    const PhysAddr p = f.dma.allocate(4096).phys;
    for (usize count : { 1u, 5u, 12u }) {
        std::vector<usize> calls;
        auto head = f.queue.add_chain(count, token_of(count), [&](usize i) {
            calls.push_back(i);
            return Segment{ p + 64 * i, 64, i + 1 == count };
        });
        ASSERT_FALSE(head.is_error());
        ASSERT_EQ(calls.size(), count);
        for (usize i = 0; i < count; i++)
            EXPECT_EQ(calls[i], i);
    }
}

// Random batches, random completion order, well past 2^16 chains: the 16-bit
// ring indices wrap several times and every token comes back exactly once.
TEST(SplitVirtqueue, WrapAroundWithRandomBatchesAndOutOfOrderCompletion)
{
    for (bool indirect : { false, true }) {
        for (bool event_idx : { false, true }) {
            fake::QueueFixture f(64, event_idx, indirect ? 8 : 0);
            fake::SplitDevice device(f.dma, f.queue);
            std::mt19937 rng(1234 + indirect * 2 + event_idx);
            const PhysAddr data = f.dma.allocate(64 * 4096).phys;

            uptr next_token = 1;
            u64 completed = 0;
            std::vector<u8> outstanding(1 << 20, 0);
            std::deque<fake::SplitDevice::Chain> in_device;
            const u64 target = 2 * 65536 + 1234;
            while (completed < target) {
                // Driver: add a batch until the queue is full or the batch ends.
                const int batch = 1 + int(rng() % 24);
                for (int i = 0; i < batch; i++) {
                    const usize data_segments = rng() % 5; // 2..6 segments
                    std::vector<Segment> chain;
                    chain.push_back({ data + (next_token % 64) * 4096, 16, false });
                    for (usize s = 0; s < data_segments; s++)
                        chain.push_back(
                            { data + (next_token % 64) * 4096 + 512 * (s + 1), 512, bool(next_token & 1) });
                    chain.push_back({ data + (next_token % 64) * 4096 + 4000, 1, true });
                    auto r = f.queue.add_chain(chain.data(), chain.size(), token_of(next_token));
                    if (r.is_error()) {
                        ASSERT_EQ(r.error().code(), ENOSPC);
                        break;
                    }
                    outstanding[next_token % outstanding.size()]++;
                    next_token++;
                }
                f.queue.publish();
                // Device: take everything, complete a random subset in random order.
                while (auto chain = device.pop())
                    in_device.push_back(*chain);
                std::shuffle(in_device.begin(), in_device.end(), rng);
                const usize finish = in_device.empty() ? 0 : 1 + rng() % in_device.size();
                for (usize i = 0; i < finish; i++) {
                    device.complete(in_device.front().head, 1);
                    in_device.pop_front();
                }
                device.flush();
                // Driver: harvest.
                UsedBuffer used;
                while (f.queue.pop_used(used)) {
                    const uptr t = reinterpret_cast<uptr>(used.token);
                    ASSERT_EQ(outstanding[t % outstanding.size()], 1) << "token " << t;
                    outstanding[t % outstanding.size()]--;
                    completed++;
                }
                ASSERT_FALSE(f.queue.is_broken());
                ASSERT_EQ(f.queue.in_flight(), in_device.size());
            }
            // Drain and check that the free list is whole again.
            for (auto& chain : in_device)
                device.complete(chain.head, 1);
            device.flush();
            UsedBuffer used;
            while (f.queue.pop_used(used))
                completed++;
            EXPECT_EQ(f.queue.in_flight(), 0u);
            EXPECT_EQ(f.queue.free_descriptors(), 64u);
            EXPECT_EQ(completed, next_token - 1);
            EXPECT_GT(next_token, 2u * 65536) << "indices must have wrapped";
            // Every descriptor is reachable: 64 single-segment chains fit exactly.
            Segment one{ data, 8, true };
            for (int i = 0; i < 64; i++)
                ASSERT_FALSE(f.queue.add_chain(&one, 1, token_of(i + 1)).is_error());
            EXPECT_EQ(f.queue.add_chain(&one, 1, token_of(99)).error().code(), ENOSPC);
        }
    }
}

TEST(SplitVirtqueue, NotifySuppressionByFlagWithoutEventIdx)
{
    fake::QueueFixture f(16, false, 0);
    fake::SplitDevice device(f.dma, f.queue);
    Segment s{ f.dma.allocate(64).phys, 64, true };
    ASSERT_FALSE(f.queue.add_chain(&s, 1, token_of(1)).is_error());
    EXPECT_TRUE(f.queue.publish());
    device.set_no_notify(true); // e.g. the device is polling
    ASSERT_FALSE(f.queue.add_chain(&s, 1, token_of(2)).is_error());
    EXPECT_FALSE(f.queue.publish());
    device.set_no_notify(false);
    ASSERT_FALSE(f.queue.add_chain(&s, 1, token_of(3)).is_error());
    EXPECT_TRUE(f.queue.publish());
    EXPECT_EQ(device.avail_idx(), 3u);
}

TEST(SplitVirtqueue, NotifyOncePerBatchWithEventIdx)
{
    fake::QueueFixture f(256, true, 0);
    fake::SplitDevice device(f.dma, f.queue);
    Segment s{ f.dma.allocate(64).phys, 64, true };

    // The device asks to be told when avail->idx passes 0: the first batch notifies, once.
    for (int i = 0; i < 10; i++)
        ASSERT_FALSE(f.queue.add_chain(&s, 1, token_of(i + 1)).is_error());
    EXPECT_TRUE(f.queue.publish());
    // The device has not looked yet (avail_event still 0): further batches do not notify.
    ASSERT_FALSE(f.queue.add_chain(&s, 1, token_of(11)).is_error());
    EXPECT_FALSE(f.queue.publish());
    // The device consumes everything and re-arms at its position (11).
    while (device.pop())
        ;
    ASSERT_FALSE(f.queue.add_chain(&s, 1, token_of(12)).is_error());
    EXPECT_TRUE(f.queue.publish());
    // The device wants a kick only once idx passes 20 (it is busy until then).
    device.set_avail_event(20);
    for (int i = 0; i < 5; i++)
        ASSERT_FALSE(f.queue.add_chain(&s, 1, token_of(13 + i)).is_error());
    EXPECT_FALSE(f.queue.publish()); // 12 -> 17
    for (int i = 0; i < 5; i++)
        ASSERT_FALSE(f.queue.add_chain(&s, 1, token_of(18 + i)).is_error());
    EXPECT_TRUE(f.queue.publish()); // 17 -> 22 crosses 20
    // The flag is ignored with EVENT_IDX.
    device.set_no_notify(true);
    device.set_avail_event(22);
    ASSERT_FALSE(f.queue.add_chain(&s, 1, token_of(30)).is_error());
    EXPECT_TRUE(f.queue.publish());
}

TEST(SplitVirtqueue, NotifyDecisionAcrossIndexWrap)
{
    fake::QueueFixture f(8, true, 0);
    fake::SplitDevice device(f.dma, f.queue);
    Segment s{ f.dma.allocate(64).phys, 64, true };
    // Walk the indices to just below the wrap.
    UsedBuffer used;
    for (u32 i = 0; i < 65530; i++) {
        ASSERT_FALSE(f.queue.add_chain(&s, 1, token_of(i + 1)).is_error());
        f.queue.publish();
        auto chain = device.pop();
        ASSERT_TRUE(chain);
        device.complete(chain->head, 8);
        device.flush();
        ASSERT_TRUE(f.queue.pop_used(used));
    }
    EXPECT_EQ(device.avail_idx(), 65530u);
    // avail_event is 65530 (the device re-armed at its position); a batch of 8
    // crossing the wrap notifies, and the device then asks for 0xffff... via 2.
    device.set_avail_event(0x0001);
    for (int i = 0; i < 6; i++)
        ASSERT_FALSE(f.queue.add_chain(&s, 1, token_of(i + 1)).is_error());
    EXPECT_FALSE(f.queue.publish()); // 65530 -> 0 (65536): 1 not crossed
    ASSERT_FALSE(f.queue.add_chain(&s, 1, token_of(7)).is_error());
    EXPECT_FALSE(f.queue.publish()); // 0 -> 1: 1 not crossed yet
    ASSERT_FALSE(f.queue.add_chain(&s, 1, token_of(8)).is_error());
    EXPECT_TRUE(f.queue.publish()); // 1 -> 2 crosses 1
    EXPECT_EQ(device.avail_idx(), 2u);
}

TEST(SplitVirtqueue, InterruptSuppressionWithEventIdx)
{
    fake::QueueFixture f(64, true, 0);
    fake::SplitDevice device(f.dma, f.queue);
    Segment s{ f.dma.allocate(64).phys, 64, true };
    auto submit = [&](int n) {
        for (int i = 0; i < n; i++)
            ASSERT_FALSE(f.queue.add_chain(&s, 1, token_of(i + 1)).is_error());
        f.queue.publish();
    };
    auto device_completes = [&](int n) {
        for (int i = 0; i < n; i++) {
            auto chain = device.pop();
            EXPECT_TRUE(chain);
            if (!chain)
                return false;
            device.complete(chain->head, 8);
        }
        return device.flush();
    };
    UsedBuffer used;

    submit(4);
    EXPECT_TRUE(device_completes(2)); // used_event 0: interrupt for the first
    EXPECT_FALSE(device_completes(1)) << "no interrupt before the driver re-arms";
    // Interrupt handler: drain, re-arm; nothing new arrived, so re-arming succeeds.
    while (f.queue.pop_used(used))
        ;
    EXPECT_TRUE(f.queue.enable_interrupts());
    EXPECT_EQ(device.used_event(), 3u);
    EXPECT_TRUE(device_completes(1));

    // Disabled: the device never interrupts, for a whole queue's worth of completions.
    while (f.queue.pop_used(used))
        ;
    f.queue.disable_interrupts();
    EXPECT_FALSE(f.queue.interrupts_enabled());
    submit(64);
    for (int i = 0; i < 64; i++)
        EXPECT_FALSE(device_completes(1)) << "interrupt while disabled, completion " << i;
    // Re-enabling with buffers already used reports them: the caller must poll again.
    EXPECT_FALSE(f.queue.enable_interrupts());
    int drained = 0;
    while (f.queue.pop_used(used))
        drained++;
    EXPECT_EQ(drained, 64);
    EXPECT_TRUE(f.queue.enable_interrupts());
    submit(1);
    EXPECT_TRUE(device_completes(1));
}

TEST(SplitVirtqueue, InterruptSuppressionByFlagWithoutEventIdx)
{
    fake::QueueFixture f(16, false, 0);
    fake::SplitDevice device(f.dma, f.queue);
    Segment s{ f.dma.allocate(64).phys, 64, true };
    UsedBuffer used;
    ASSERT_FALSE(f.queue.add_chain(&s, 1, token_of(1)).is_error());
    ASSERT_FALSE(f.queue.add_chain(&s, 1, token_of(2)).is_error());
    f.queue.publish();
    f.queue.disable_interrupts();
    EXPECT_EQ(device.avail_flags(), virtio::AVAIL_F_NO_INTERRUPT);
    device.complete(device.pop()->head, 8);
    EXPECT_FALSE(device.flush());
    EXPECT_FALSE(f.queue.enable_interrupts()); // one used buffer is waiting
    EXPECT_EQ(device.avail_flags(), 0u);
    ASSERT_TRUE(f.queue.pop_used(used));
    EXPECT_TRUE(f.queue.enable_interrupts());
    device.complete(device.pop()->head, 8);
    EXPECT_TRUE(device.flush());
}

TEST(SplitVirtqueue, BadUsedIdBreaksTheQueue)
{
    fake::QueueFixture f(16, false, 0);
    fake::SplitDevice device(f.dma, f.queue);
    Segment s{ f.dma.allocate(64).phys, 64, true };
    ASSERT_FALSE(f.queue.add_chain(&s, 1, token_of(1)).is_error());
    f.queue.publish();
    auto chain = device.pop();
    ASSERT_TRUE(chain);
    device.complete(u16(chain->head + 1), 8); // a descriptor that is not in flight
    device.flush();
    UsedBuffer used;
    EXPECT_FALSE(f.queue.pop_used(used));
    EXPECT_TRUE(f.queue.is_broken());
    EXPECT_EQ(f.queue.add_chain(&s, 1, token_of(2)).error().code(), EIO);
    EXPECT_FALSE(f.queue.publish());

    // The driver resets the device, takes back what was in flight, and starts over.
    EXPECT_EQ(f.queue.detach_unused(), token_of(1));
    EXPECT_EQ(f.queue.detach_unused(), nullptr);
    f.queue.reinitialize();
    EXPECT_FALSE(f.queue.is_broken());
    EXPECT_EQ(f.queue.free_descriptors(), 16u);
    fake::SplitDevice fresh(f.dma, f.queue);
    ASSERT_FALSE(f.queue.add_chain(&s, 1, token_of(3)).is_error());
    EXPECT_TRUE(f.queue.publish());
    EXPECT_EQ(fresh.avail_idx(), 1u);
}

TEST(SplitVirtqueue, UsedIndexRunningAheadBreaksTheQueue)
{
    fake::QueueFixture f(16, false, 0);
    fake::SplitDevice device(f.dma, f.queue);
    Segment s{ f.dma.allocate(64).phys, 64, true };
    ASSERT_FALSE(f.queue.add_chain(&s, 1, token_of(1)).is_error());
    f.queue.publish();
    auto chain = device.pop();
    device.complete(chain->head, 8);
    device.complete(chain->head, 8); // the same chain twice
    device.flush();
    UsedBuffer used;
    EXPECT_FALSE(f.queue.pop_used(used)) << "two used entries for one chain in flight";
    EXPECT_TRUE(f.queue.is_broken());
}

TEST(SplitVirtqueue, DetachUnusedReturnsEveryChainInFlight)
{
    fake::QueueFixture f(16, true, 4);
    auto chain = request_chain(f.dma, 2);
    for (uptr i = 1; i <= 5; i++)
        ASSERT_FALSE(f.queue.add_chain(chain.data(), chain.size(), token_of(i)).is_error());
    Segment s{ chain[1].phys, 512, true };
    ASSERT_FALSE(f.queue.add_chain(&s, 1, token_of(6)).is_error());
    f.queue.publish();
    std::vector<void*> detached;
    while (void* token = f.queue.detach_unused())
        detached.push_back(token);
    std::sort(detached.begin(), detached.end());
    EXPECT_EQ(detached.size(), 6u);
    for (uptr i = 1; i <= 6; i++)
        EXPECT_EQ(detached[i - 1], token_of(i));
    EXPECT_EQ(f.queue.in_flight(), 0u);
    EXPECT_EQ(f.queue.free_descriptors(), 16u);
}

// The device runs on its own thread and sleeps whenever it has nothing to do;
// the driver notifies only when publish() says so and waits for completions
// only through "interrupts". A lost notification or interrupt hangs one side,
// which the watchdog turns into a failure. This exercises the barriers and the
// re-check in publish()/enable_interrupts() against a concurrent device.
TEST(SplitVirtqueue, ConcurrentDeviceNeverLosesNotificationsOrInterrupts)
{
    for (bool event_idx : { true, false }) {
        fake::QueueFixture f(128, event_idx, 16);
        fake::SplitDevice device(f.dma, f.queue);
        const PhysAddr data = f.dma.allocate(4096).phys;

        std::mutex m;
        std::condition_variable cv;
        u64 doorbells = 0, interrupts = 0; // guarded by m
        std::atomic<bool> stop{ false };
        std::atomic<u64> device_completed{ 0 };

        std::thread device_thread([&] {
            std::mt19937 rng(7);
            u64 seen_doorbells = 0;
            std::vector<u16> heads;
            while (!stop.load()) {
                while (auto chain = device.pop())
                    heads.push_back(chain->head);
                if (!heads.empty()) {
                    // Complete some now, keep the rest for later (out of order).
                    std::shuffle(heads.begin(), heads.end(), rng);
                    const usize n = 1 + rng() % heads.size();
                    for (usize i = 0; i < n; i++) {
                        device.complete(heads.back(), 1);
                        heads.pop_back();
                    }
                    device_completed += n;
                    if (device.flush()) {
                        std::lock_guard lock(m);
                        interrupts++;
                        cv.notify_all();
                    }
                    continue;
                }
                if (!device.arm_notification_and_recheck())
                    continue;
                std::unique_lock lock(m);
                cv.wait_for(
                    lock, std::chrono::milliseconds(50), [&] { return doorbells != seen_doorbells || stop; });
                seen_doorbells = doorbells;
            }
        });

        std::mt19937 rng(11);
        uptr next_token = 1;
        u64 completed = 0;
        const u64 target = 100000;
        u64 seen_interrupts = 0;
        bool hung = false;
        while (completed < target && !hung) {
            const int batch = 1 + int(rng() % 40);
            for (int i = 0; i < batch && next_token <= target; i++) {
                Segment chain[3]
                    = { { data, 16, false }, { data + 512, 512, true }, { data + 1024, 1, true } };
                auto r = f.queue.add_chain(chain, 1 + rng() % 3, token_of(next_token));
                if (r.is_error()) {
                    ASSERT_EQ(r.error().code(), ENOSPC);
                    break;
                }
                next_token++;
            }
            if (f.queue.publish()) {
                std::lock_guard lock(m);
                doorbells++;
                cv.notify_all();
            }
            // Completion path, as an interrupt handler runs it.
            f.queue.disable_interrupts();
            UsedBuffer used;
            do {
                while (f.queue.pop_used(used))
                    completed++;
            } while (!f.queue.enable_interrupts());
            ASSERT_FALSE(f.queue.is_broken());
            // Full queue: sleep until an interrupt says something completed.
            if (f.queue.free_descriptors() < 3 || next_token > target) {
                if (completed >= target)
                    break;
                std::unique_lock lock(m);
                if (!cv.wait_for(
                        lock, std::chrono::seconds(5), [&] { return interrupts != seen_interrupts; }))
                    hung = f.queue.in_flight() > 0;
                seen_interrupts = interrupts;
            }
        }
        stop = true;
        {
            std::lock_guard lock(m);
            cv.notify_all();
        }
        device_thread.join();
        EXPECT_FALSE(hung) << "lost a notification or an interrupt (event_idx " << event_idx
                           << "), in flight " << f.queue.in_flight() << ", device completed "
                           << device_completed.load();
        EXPECT_EQ(completed, target);
        EXPECT_EQ(f.queue.in_flight(), 0u);
    }
}

TEST(SplitVirtqueue, DisabledInterruptsStayOffAcrossIndexWrap)
{
    fake::QueueFixture f(16, true, 0);
    fake::SplitDevice device(f.dma, f.queue);
    Segment s{ f.dma.allocate(64).phys, 64, true };
    UsedBuffer used;
    // Run the used index up to just below 2^16 with interrupts off, one
    // request at a time: the device must never be asked to interrupt, also
    // not when its index wraps through 0.
    f.queue.disable_interrupts();
    for (u32 i = 0; i < 65536 + 40; i++) {
        ASSERT_FALSE(f.queue.add_chain(&s, 1, token_of(i + 1)).is_error());
        f.queue.publish();
        auto chain = device.pop();
        ASSERT_TRUE(chain);
        device.complete(chain->head, 8);
        ASSERT_FALSE(device.flush()) << "interrupt while disabled at used index " << device.used_idx();
        ASSERT_TRUE(f.queue.pop_used(used));
    }
    EXPECT_EQ(device.interrupts, 0u);
    EXPECT_TRUE(f.queue.enable_interrupts());
    ASSERT_FALSE(f.queue.add_chain(&s, 1, token_of(1)).is_error());
    f.queue.publish();
    device.complete(device.pop()->head, 8);
    EXPECT_TRUE(device.flush());
}
