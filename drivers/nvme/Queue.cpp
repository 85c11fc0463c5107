#include "kernel/lib/Atomic.h"
#include "drivers/nvme/Queue.h"

namespace nvme {

Queue::Queue(u16 qid, u16 depth, SubmissionEntry* sq, CompletionEntry* cq, volatile u32* sq_tail_doorbell,
             volatile u32* cq_head_doorbell)
    : m_qid(qid), m_depth(depth), m_sq(sq), m_cq(cq), m_sq_doorbell(sq_tail_doorbell),
      m_cq_doorbell(cq_head_doorbell)
{
}

u16 Queue::free_slots() const
{
    const u16 head = m_sq_head.load(MemoryOrder::Acquire);
    const u16 used = static_cast<u16>((m_sq_tail + m_depth - head) % m_depth);
    return static_cast<u16>(m_depth - 1 - used);
}

void Queue::submit(const SubmissionEntry& entry)
{
    m_sq[m_sq_tail] = entry;
    m_sq_tail = static_cast<u16>(m_sq_tail + 1 == m_depth ? 0 : m_sq_tail + 1);
    m_counters.submitted++;
}

bool Queue::write_doorbell(volatile u32* doorbell, const ShadowDoorbell& shadow, u16 new_value, u16 old_value)
{
    if (shadow.shadow) {
        *shadow.shadow = new_value;
        // The shadow store must be visible before we read the event index, or
        // the controller could miss the update and we would skip the MMIO
        // write it needed (1.4 §5.8; Linux nvme_dbbuf_update_and_check_event).
        atomic_thread_fence(MemoryOrder::SeqCst);
        const u16 event_index = static_cast<u16>(*shadow.event_index);
        if (!doorbell_needs_mmio(event_index, new_value, old_value))
            return false;
    }
    *doorbell = new_value;
    return true;
}

bool Queue::commit()
{
    if (m_sq_tail == m_sq_tail_committed)
        return false;
    // The entries must be globally visible before the doorbell (x86 keeps
    // stores in order; the fence stops the compiler from reordering).
    atomic_thread_fence(MemoryOrder::Release);
    const bool wrote = write_doorbell(m_sq_doorbell, m_sq_shadow, m_sq_tail, m_sq_tail_committed);
    m_sq_tail_committed = m_sq_tail;
    if (wrote)
        m_counters.sq_doorbell_writes++;
    return wrote;
}

bool Queue::has_completion() const
{
    const u16 status = AtomicRef(m_cq[m_cq_head].status).load(MemoryOrder::Acquire);
    return (status & 1) == static_cast<u16>(m_phase);
}

bool Queue::peek_completion(CompletionEntry& out) const
{
    CompletionEntry* slot = &m_cq[m_cq_head];
    // Read the phase tag first; the rest of the entry is valid once it flips
    // (acquire keeps the other loads after it).
    const u16 status = AtomicRef(slot->status).load(MemoryOrder::Acquire);
    if ((status & 1) != static_cast<u16>(m_phase))
        return false;
    out.result = AtomicRef(slot->result).load(MemoryOrder::Relaxed);
    out.dw1 = AtomicRef(slot->dw1).load(MemoryOrder::Relaxed);
    out.sq_head = AtomicRef(slot->sq_head).load(MemoryOrder::Relaxed);
    out.sq_id = AtomicRef(slot->sq_id).load(MemoryOrder::Relaxed);
    out.command_id = AtomicRef(slot->command_id).load(MemoryOrder::Relaxed);
    out.status = status;
    return true;
}

void Queue::advance_cq_head(const CompletionEntry& entry)
{
    // The controller reports how far it has consumed the SQ (§4.6, SQ Head
    // Pointer): those slots may be reused.
    if (entry.sq_head < m_depth)
        m_sq_head.store(entry.sq_head, MemoryOrder::Release);
    m_cq_head++;
    if (m_cq_head == m_depth) {
        m_cq_head = 0;
        m_phase = !m_phase; // §4.6: the tag inverts on every pass through the ring
    }
    m_counters.completed++;
}

void Queue::update_cq_doorbell()
{
    if (write_doorbell(m_cq_doorbell, m_cq_shadow, m_cq_head, m_cq_head_reported))
        m_counters.cq_doorbell_writes++;
    m_cq_head_reported = m_cq_head;
}

void Queue::enable_shadow_doorbells(ShadowDoorbell sq, ShadowDoorbell cq)
{
    m_sq_shadow = sq;
    m_cq_shadow = cq;
    *m_sq_shadow.shadow = m_sq_tail_committed;
    *m_cq_shadow.shadow = m_cq_head_reported;
}

void Queue::reset()
{
    m_sq_tail = m_sq_tail_committed = 0;
    m_sq_head.store(static_cast<u16>(0), MemoryOrder::Relaxed);
    m_cq_head = m_cq_head_reported = 0;
    m_phase = true;
    for (u16 i = 0; i < m_depth; i++)
        AtomicRef(m_cq[i].status).store(static_cast<u16>(0), MemoryOrder::Relaxed);
    if (m_sq_shadow.shadow) {
        *m_sq_shadow.shadow = 0;
        *m_cq_shadow.shadow = 0;
    }
}

} // namespace nvme
