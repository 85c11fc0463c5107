// One NVMe queue pair as a ring: the submission queue tail, the completion
// queue head and its phase tag, and the two doorbells (1.4 §4.1, §4.6).
//
// This class is only the ring arithmetic; it takes no locks and allocates
// nothing. Its owner serialises each side: one lock (or one CPU) for the
// submission side (submit/commit), one for the completion side
// (process_completions). InterruptQueue and PollQueue are thin wrappers that
// differ only in how they notice completions.
//
// Doorbells are written once per batch: submit() only fills slots; commit()
// writes the SQ tail doorbell (the block layer calls it once per dispatched
// batch, like Linux's commit_rqs). When the controller supports Doorbell
// Buffer Config (1.4 §5.8), the new value goes to the shadow doorbell first
// and the MMIO write happens only if the controller's event index asks for it.
#pragma once

#include "drivers/nvme/Spec.h"
#include "kernel/lib/Atomic.h"
#include "kernel/lib/Types.h"

namespace nvme {

// One shadow doorbell and its event index, in host memory shared with the
// controller (1.4 §5.8).
struct ShadowDoorbell {
    volatile u32* shadow = nullptr;
    volatile u32* event_index = nullptr;
};

// Event-index test (same rule as virtio's vring_need_event): the device asked
// to be told when the value passes `event_index`; did the update from
// `old_value` to `new_value` pass it? All arithmetic modulo 2^16.
constexpr bool doorbell_needs_mmio(u16 event_index, u16 new_value, u16 old_value)
{
    return static_cast<u16>(new_value - event_index - 1) < static_cast<u16>(new_value - old_value);
}

class Queue {
public:
    Queue(u16 qid, u16 depth, SubmissionEntry* sq, CompletionEntry* cq, volatile u32* sq_tail_doorbell,
          volatile u32* cq_head_doorbell);
    Queue(const Queue&) = delete;
    Queue& operator=(const Queue&) = delete;

    u16 qid() const { return m_qid; }
    u16 depth() const { return m_depth; }

    // --- submission side (caller serialises) ---------------------------------
    // A ring of `depth` slots holds at most depth - 1 commands (head == tail
    // means empty, §4.1.2), and the controller frees slots as it reports them
    // in CQE.sq_head.
    u16 free_slots() const;
    bool is_full() const { return free_slots() == 0; }
    // Copies `entry` into the next slot; the doorbell is not written. The
    // caller checks is_full() first.
    void submit(const SubmissionEntry& entry);
    // Tells the controller about every submit() since the last commit(): one
    // doorbell write (or one shadow update). Returns true if MMIO was written.
    bool commit();

    // --- completion side (caller serialises) ---------------------------------
    bool has_completion() const;
    // Reaps up to `budget` completions in order, calling handle(entry) on a
    // copy of each, then writes the CQ head doorbell once. Returns the count.
    template <typename Handler>
    u32 process_completions(Handler&& handle, u32 budget = ~0u)
    {
        u32 reaped = 0;
        while (reaped < budget) {
            CompletionEntry entry;
            if (!peek_completion(entry))
                break;
            advance_cq_head(entry);
            handle(static_cast<const CompletionEntry&>(entry));
            reaped++;
        }
        if (reaped)
            update_cq_doorbell();
        return reaped;
    }

    // Switch to shadow doorbells (after a successful Doorbell Buffer Config).
    void enable_shadow_doorbells(ShadowDoorbell sq, ShadowDoorbell cq);
    bool shadow_doorbells_enabled() const { return m_sq_shadow.shadow != nullptr; }

    // Forget every outstanding entry (after the controller was reset and the
    // queue is being recreated): empty SQ, phase 1, zeroed CQ.
    void reset();

    struct Counters {
        u64 submitted;
        u64 completed;
        u64 sq_doorbell_writes; // MMIO writes, not shadow updates
        u64 cq_doorbell_writes;
    };
    const Counters& counters() const { return m_counters; }

    u16 sq_tail() const { return m_sq_tail; }
    u16 cq_head() const { return m_cq_head; }
    bool phase() const { return m_phase; }

private:
    bool peek_completion(CompletionEntry& out) const;
    void advance_cq_head(const CompletionEntry& entry);
    void update_cq_doorbell();
    static bool write_doorbell(volatile u32* doorbell, const ShadowDoorbell& shadow, u16 new_value,
                               u16 old_value);

    u16 m_qid;
    u16 m_depth;
    SubmissionEntry* m_sq;
    CompletionEntry* m_cq;
    volatile u32* m_sq_doorbell;
    volatile u32* m_cq_doorbell;
    ShadowDoorbell m_sq_shadow;
    ShadowDoorbell m_cq_shadow;

    // Submission side.
    u16 m_sq_tail = 0;
    u16 m_sq_tail_committed = 0;
    // Written by the completion side (from CQE.sq_head), read by the submission side.
    Atomic<u16> m_sq_head{0}; // moved by completions (possibly on another CPU than submissions)
    // Completion side.
    u16 m_cq_head = 0;
    u16 m_cq_head_reported = 0;
    bool m_phase = true; // the controller's first pass writes phase 1 (§4.6)

    Counters m_counters {};
};

} // namespace nvme
