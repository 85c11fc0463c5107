// drivers/nvme: the queue-pair ring against a fake controller that lives in
// plain memory: it consumes the SQ up to the doorbell and posts CQEs with the
// phase tag, like the device would by DMA.
#include <gtest/gtest.h>

#include <vector>

#include "drivers/nvme/Queue.h"
#include "drivers/nvme/Spec.h"
#include "drivers/nvme/Status.h"
#include "uapi/errno.h"

using namespace nvme;

namespace {

struct FakeController {
    explicit FakeController(u16 depth) : sq(depth), cq(depth), depth(depth) { }

    std::vector<SubmissionEntry> sq;
    std::vector<CompletionEntry> cq;
    u16 depth;
    volatile u32 sq_doorbell = 0;
    volatile u32 cq_doorbell = 0;
    u16 sq_head = 0;
    u16 cq_tail = 0;
    bool phase = true;
    std::vector<u16> seen_ids;

    // Consume every SQE up to the doorbell; post one CQE per command, unless
    // the CQ is full (the host has not returned the slots yet).
    void run(u16 status_field = 0)
    {
        while (sq_head != sq_doorbell) {
            const u16 next_tail = static_cast<u16>((cq_tail + 1) % depth);
            if (next_tail == cq_doorbell)
                return; // CQ full
            const SubmissionEntry& e = sq[sq_head];
            seen_ids.push_back(e.command_id);
            sq_head = static_cast<u16>((sq_head + 1) % depth);
            CompletionEntry c {};
            c.result = e.cdw10;
            c.sq_head = sq_head;
            c.sq_id = 1;
            c.command_id = e.command_id;
            c.status = static_cast<u16>((status_field << 1) | (phase ? 1 : 0));
            cq[cq_tail] = c;
            cq_tail = next_tail;
            if (cq_tail == 0)
                phase = !phase;
        }
    }
};

SubmissionEntry command(u16 id)
{
    SubmissionEntry e {};
    e.opcode = io::READ;
    e.command_id = id;
    e.cdw10 = 1000u + id;
    return e;
}

} // namespace

TEST(NvmeSpec, DoorbellOffsetsFollowTheStride)
{
    EXPECT_EQ(sq_tail_doorbell_offset(0, 0), 0x1000u);
    EXPECT_EQ(cq_head_doorbell_offset(0, 0), 0x1004u);
    EXPECT_EQ(sq_tail_doorbell_offset(3, 0), 0x1018u);
    EXPECT_EQ(cq_head_doorbell_offset(3, 0), 0x101cu);
    EXPECT_EQ(sq_tail_doorbell_offset(1, 2), 0x1000u + 2 * 16);
    EXPECT_EQ(cq_head_doorbell_offset(1, 2), 0x1000u + 3 * 16);
}

TEST(NvmeSpec, CapabilityFields)
{
    // MQES 2047, CQR, TO 15 (7.5 s), DSTRD 0, CSS NVM, MPSMIN 0, MPSMAX 4
    const u64 raw = 0x7ffull | (1ull << 16) | (15ull << 24) | (1ull << 37) | (4ull << 52);
    CapabilityReg cap(raw);
    EXPECT_EQ(cap.max_queue_entries(), 2048u);
    EXPECT_TRUE(cap.contiguous_queues_required());
    EXPECT_EQ(cap.ready_timeout_ms(), 7500u);
    EXPECT_EQ(cap.doorbell_stride_shift(), 0u);
    EXPECT_TRUE(cap.nvm_command_set());
    EXPECT_EQ(cap.min_page_shift(), 12u);
    EXPECT_EQ(cap.max_page_shift(), 16u);
    EXPECT_EQ(aqa_value(32, 32), 0x001f001fu);
}

TEST(NvmeSpec, StatusToErrno)
{
    EXPECT_EQ(status_to_errno(status::SUCCESS), 0);
    EXPECT_EQ(status_to_errno(status::UNRECOVERED_READ_ERROR), EIO);
    EXPECT_EQ(status_to_errno(status::WRITE_FAULT), EIO);
    EXPECT_EQ(status_to_errno(status::INTERNAL_ERROR), EIO);
    EXPECT_EQ(status_to_errno(status::INVALID_OPCODE), EOPNOTSUPP);
    EXPECT_EQ(status_to_errno(status::INVALID_FIELD), EINVAL);
    EXPECT_EQ(status_to_errno(status::CAPACITY_EXCEEDED), ENOSPC);
    EXPECT_EQ(status_to_errno(status::LBA_OUT_OF_RANGE), EREMOTEIO);
    EXPECT_EQ(status_to_errno(status::ABORT_REQUESTED), ECANCELED);
    EXPECT_EQ(status_to_errno(status::ATTEMPTED_WRITE_TO_READ_ONLY), EROFS);
    // DNR and More bits do not change the class.
    EXPECT_EQ(status_to_errno(static_cast<u16>(status::UNRECOVERED_READ_ERROR | (1u << 14) | (1u << 13))), EIO);
    EXPECT_STREQ(status_name(status::UNRECOVERED_READ_ERROR), "unrecovered read error");
    // The CQE carries the status shifted over the phase bit.
    CompletionEntry c {};
    c.status = static_cast<u16>((status::WRITE_FAULT << 1) | 1);
    EXPECT_TRUE(c.phase());
    EXPECT_EQ(c.status_field(), status::WRITE_FAULT);
    EXPECT_EQ(status::type(c.status_field()), status::TYPE_MEDIA);
}

TEST(NvmeQueue, SubmitCommitReapInOrder)
{
    FakeController dev(8);
    Queue q(1, 8, dev.sq.data(), dev.cq.data(), &dev.sq_doorbell, &dev.cq_doorbell);
    EXPECT_EQ(q.free_slots(), 7);
    for (u16 id = 0; id < 3; id++)
        q.submit(command(id));
    EXPECT_EQ(dev.sq_doorbell, 0u) << "submit alone must not ring";
    EXPECT_TRUE(q.commit());
    EXPECT_EQ(dev.sq_doorbell, 3u);
    EXPECT_FALSE(q.commit()) << "nothing new: no doorbell write";
    dev.run();
    std::vector<u16> ids;
    EXPECT_EQ(q.process_completions([&](const CompletionEntry& c) {
        ids.push_back(c.command_id);
        EXPECT_EQ(c.result, 1000u + c.command_id);
    }),
              3u);
    EXPECT_EQ(ids, (std::vector<u16> {0, 1, 2}));
    EXPECT_EQ(dev.cq_doorbell, 3u);
    EXPECT_EQ(q.counters().sq_doorbell_writes, 1u);
    EXPECT_EQ(q.counters().cq_doorbell_writes, 1u);
    EXPECT_FALSE(q.has_completion());
}

TEST(NvmeQueue, PhaseFlipsOnEveryWrapAndFullnessIsDepthMinusOne)
{
    const u16 depth = 4;
    FakeController dev(depth);
    Queue q(1, depth, dev.sq.data(), dev.cq.data(), &dev.sq_doorbell, &dev.cq_doorbell);
    u16 next_id = 0;
    u32 reaped = 0;
    for (int round = 0; round < 50; round++) {
        while (!q.is_full())
            q.submit(command(next_id++));
        EXPECT_EQ(q.free_slots(), 0);
        q.commit();
        dev.run();
        q.process_completions([&](const CompletionEntry& c) {
            EXPECT_EQ(c.command_id, static_cast<u16>(reaped));
            reaped++;
        });
        EXPECT_EQ(q.free_slots(), depth - 1);
    }
    EXPECT_EQ(reaped, 150u);
    EXPECT_EQ(next_id, 150u);
    // 150 entries through a 4-slot CQ: 37 full wraps, 2 entries into the 38th.
    EXPECT_EQ(q.cq_head(), 150 % depth);
    EXPECT_EQ(q.phase(), (150 / depth) % 2 == 0);
}

TEST(NvmeQueue, BudgetLeavesTheRestForLater)
{
    FakeController dev(16);
    Queue q(1, 16, dev.sq.data(), dev.cq.data(), &dev.sq_doorbell, &dev.cq_doorbell);
    for (u16 id = 0; id < 10; id++)
        q.submit(command(id));
    q.commit();
    dev.run();
    EXPECT_EQ(q.process_completions([](const CompletionEntry&) { }, 4), 4u);
    EXPECT_EQ(dev.cq_doorbell, 4u);
    EXPECT_TRUE(q.has_completion());
    EXPECT_EQ(q.process_completions([](const CompletionEntry&) { }), 6u);
    EXPECT_EQ(dev.cq_doorbell, 10u);
}

TEST(NvmeQueue, ErrorStatusIsDeliveredWithThePhase)
{
    FakeController dev(4);
    Queue q(1, 4, dev.sq.data(), dev.cq.data(), &dev.sq_doorbell, &dev.cq_doorbell);
    q.submit(command(7));
    q.commit();
    dev.run(status::UNRECOVERED_READ_ERROR);
    int error = 0;
    q.process_completions([&](const CompletionEntry& c) { error = status_to_errno(c.status_field()); });
    EXPECT_EQ(error, EIO);
}

TEST(NvmeQueue, ShadowDoorbellSkipsMmioUntilTheEventIndexAsks)
{
    EXPECT_TRUE(doorbell_needs_mmio(0, 1, 0));
    EXPECT_FALSE(doorbell_needs_mmio(5, 3, 1));
    EXPECT_TRUE(doorbell_needs_mmio(2, 3, 1));
    EXPECT_TRUE(doorbell_needs_mmio(0xffff, 1, 0xfffe)); // wraps modulo 2^16

    FakeController dev(16);
    Queue q(1, 16, dev.sq.data(), dev.cq.data(), &dev.sq_doorbell, &dev.cq_doorbell);
    volatile u32 shadow_sq = 0, event_sq = 0, shadow_cq = 0, event_cq = 0;
    q.enable_shadow_doorbells({&shadow_sq, &event_sq}, {&shadow_cq, &event_cq});
    // The controller says: tell me once the tail passes 0.
    event_sq = 0;
    q.submit(command(0));
    EXPECT_TRUE(q.commit());
    EXPECT_EQ(shadow_sq, 1u);
    EXPECT_EQ(dev.sq_doorbell, 1u);
    // It is still polling the shadow and asked to hear only past 10.
    event_sq = 10;
    q.submit(command(1));
    q.submit(command(2));
    EXPECT_FALSE(q.commit());
    EXPECT_EQ(shadow_sq, 3u);
    EXPECT_EQ(dev.sq_doorbell, 1u) << "MMIO suppressed";
    EXPECT_EQ(q.counters().sq_doorbell_writes, 1u);
}

TEST(NvmeQueue, ResetStartsAFreshRing)
{
    FakeController dev(4);
    Queue q(1, 4, dev.sq.data(), dev.cq.data(), &dev.sq_doorbell, &dev.cq_doorbell);
    q.submit(command(1));
    q.commit();
    dev.run();
    q.reset();
    EXPECT_EQ(q.sq_tail(), 0);
    EXPECT_EQ(q.cq_head(), 0);
    EXPECT_TRUE(q.phase());
    EXPECT_FALSE(q.has_completion());
    EXPECT_EQ(q.free_slots(), 3);
}
