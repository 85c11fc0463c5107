// drivers/nvme: command ids with a generation (CommandId.h) - a completion
// that arrives for an earlier issue of a tag, or twice for the same issue,
// must not end the command now in flight under that tag - and the doorbell
// bounds against BAR0 (a crafted CAP.DSTRD).
#include <gtest/gtest.h>

#include <vector>

#include "drivers/nvme/CommandId.h"
#include "drivers/nvme/Queue.h"
#include "drivers/nvme/Spec.h"

using namespace nvme;

namespace {

// A controller that answers from plain memory, and can be told to answer a
// command a second time or late (after the host gave up and reissued the tag).
struct Controller {
    explicit Controller(u16 depth) : sq(depth), cq(depth), depth(depth) { }
    std::vector<SubmissionEntry> sq;
    std::vector<CompletionEntry> cq;
    u16 depth;
    volatile u32 sq_doorbell = 0;
    volatile u32 cq_doorbell = 0;
    u16 sq_head = 0, cq_tail = 0;
    bool phase = true;
    std::vector<SubmissionEntry> fetched;

    void fetch()
    {
        while (sq_head != sq_doorbell) {
            fetched.push_back(sq[sq_head]);
            sq_head = static_cast<u16>((sq_head + 1) % depth);
        }
    }
    void post(u16 command_id)
    {
        CompletionEntry c {};
        c.sq_head = sq_head;
        c.sq_id = 1;
        c.command_id = command_id;
        c.status = phase ? 1 : 0;
        cq[cq_tail] = c;
        cq_tail = static_cast<u16>((cq_tail + 1) % depth);
        if (cq_tail == 0)
            phase = !phase;
    }
};

// The driver side of one hardware queue: per tag, the state blk-mq and the
// reaper keep (Issued, in the ring, generation of the issue).
struct Host {
    static constexpr u32 DEPTH = 8;
    InFlightCommand commands[DEPTH] {};
    u32 generations[DEPTH] {};
    std::vector<u32> completed_tags;
    std::vector<CompletionVerdict> verdicts;

    u16 issue(Queue& ring, u32 tag)
    {
        generations[tag]++;
        commands[tag] = {true, true, generations[tag]};
        SubmissionEntry e {};
        e.opcode = io::READ;
        e.command_id = make_command_id(tag, generations[tag]);
        ring.submit(e);
        ring.commit();
        return e.command_id;
    }
    void reap(Queue& ring)
    {
        ring.process_completions([&](const CompletionEntry& cqe) {
            const u32 tag = command_id_tag(cqe.command_id);
            const CompletionVerdict verdict =
                classify_completion(cqe.command_id, DEPTH, tag < DEPTH ? &commands[tag] : nullptr);
            verdicts.push_back(verdict);
            if (verdict != CompletionVerdict::Accept)
                return;
            commands[tag].in_ring = false;
            commands[tag].issued = false; // completed: the tag is free again
            completed_tags.push_back(tag);
        });
    }
};

} // namespace

TEST(NvmeCommandId, TagAndGenerationRoundTrip)
{
    for (u32 tag : {0u, 1u, 1023u, 4095u})
        for (u32 gen = 0; gen < 40; gen++) {
            const u16 id = make_command_id(tag, gen);
            EXPECT_EQ(command_id_tag(id), tag);
            EXPECT_EQ(command_id_generation(id), gen & 0xf);
        }
    // Consecutive issues of a tag get different ids.
    EXPECT_NE(make_command_id(5, 1), make_command_id(5, 2));
}

// The ABA of a timeout and a reused tag: the command under tag 3 times out
// and is given up (reset / requeue); the tag is issued again; then the old
// command's completion arrives. It must be rejected, and the new command must
// still be in flight until its own completion comes.
TEST(NvmeCommandId, LateCompletionForAnEarlierIssueIsRejected)
{
    constexpr u16 RING = 16;
    Controller device(RING);
    Queue ring(1, RING, device.sq.data(), device.cq.data(), &device.sq_doorbell, &device.cq_doorbell);
    Host host;

    const u16 first = host.issue(ring, 3);
    device.fetch();
    // Timed out: the driver hands the request back; blk-mq issues it again.
    host.commands[3] = {};
    const u16 second = host.issue(ring, 3);
    device.fetch();
    ASSERT_NE(first, second);

    device.post(first); // the lost completion turns up
    host.reap(ring);
    ASSERT_EQ(host.verdicts.size(), 1u);
    EXPECT_EQ(host.verdicts[0], CompletionVerdict::Stale);
    EXPECT_TRUE(host.completed_tags.empty());
    EXPECT_TRUE(host.commands[3].issued && host.commands[3].in_ring);

    device.post(second);
    host.reap(ring);
    ASSERT_EQ(host.completed_tags.size(), 1u);
    EXPECT_EQ(host.verdicts[1], CompletionVerdict::Accept);
}

TEST(NvmeCommandId, DuplicateAndIdleCompletionsAreRejected)
{
    constexpr u16 RING = 16;
    Controller device(RING);
    Queue ring(1, RING, device.sq.data(), device.cq.data(), &device.sq_doorbell, &device.cq_doorbell);
    Host host;

    const u16 id = host.issue(ring, 2);
    device.fetch();
    device.post(id);
    device.post(id); // posted twice in one batch: reaped before completion ends
    host.commands[2].issued = true; // the first is reaped but still Issued until completed
    ring.process_completions([&](const CompletionEntry& cqe) {
        const u32 tag = command_id_tag(cqe.command_id);
        const auto verdict = classify_completion(cqe.command_id, Host::DEPTH, &host.commands[tag]);
        host.verdicts.push_back(verdict);
        if (verdict == CompletionVerdict::Accept)
            host.commands[tag].in_ring = false; // completion runs after the lock drops
    });
    ASSERT_EQ(host.verdicts.size(), 2u);
    EXPECT_EQ(host.verdicts[0], CompletionVerdict::Accept);
    EXPECT_EQ(host.verdicts[1], CompletionVerdict::Duplicate);

    // Once completed (tag free), a third copy finds no command in flight.
    host.commands[2].issued = false;
    device.post(id);
    host.verdicts.clear();
    host.reap(ring);
    ASSERT_EQ(host.verdicts.size(), 1u);
    EXPECT_EQ(host.verdicts[0], CompletionVerdict::Idle);

    // A tag beyond the queue's depth.
    device.post(make_command_id(Host::DEPTH + 1, 1));
    host.verdicts.clear();
    host.reap(ring);
    ASSERT_EQ(host.verdicts.size(), 1u);
    EXPECT_EQ(host.verdicts[0], CompletionVerdict::UnknownTag);
}

// Defect 9: CAP.DSTRD is the device's word. A stride that puts doorbells
// past BAR0 must be caught, and the offset must not wrap in 32 bits.
TEST(NvmeSpec, DoorbellsAreBoundedByBar0)
{
    constexpr u64 BAR0 = 16 * 1024; // QEMU's and most controllers' BAR0
    EXPECT_TRUE(doorbell_in_bar(sq_tail_doorbell_offset(0, 0), BAR0));
    EXPECT_TRUE(doorbell_in_bar(cq_head_doorbell_offset(64, 0), BAR0));
    // DSTRD 15: 128 KiB between doorbells; queue 1 is already far outside.
    EXPECT_FALSE(doorbell_in_bar(cq_head_doorbell_offset(0, 15), BAR0));
    EXPECT_FALSE(doorbell_in_bar(sq_tail_doorbell_offset(1, 15), BAR0));
    // The largest queue id with the largest stride does not wrap to a small offset.
    EXPECT_GT(cq_head_doorbell_offset(65535, 15), u64(1) << 32);
    EXPECT_FALSE(doorbell_in_bar(cq_head_doorbell_offset(65535, 15), BAR0));
    // The last dword of the BAR is usable, the next is not; tiny BARs hold none.
    EXPECT_TRUE(doorbell_in_bar(BAR0 - 4, BAR0));
    EXPECT_FALSE(doorbell_in_bar(BAR0 - 3, BAR0));
    EXPECT_FALSE(doorbell_in_bar(0, 2));
}
