// One NVMe I/O queue pair in the kernel: the ring (Queue.h) plus its DMA
// memory, its locks, its PRP-list pool, and the glue to blk-mq (one
// HwQueue per IoQueue; command id = tag). InterruptQueue and PollQueue are
// the two ways completions are noticed; everything else is here.
//
// Locks: m_sq_lock around submit/commit, m_cq_lock around reaping, and
// m_pool_lock around the PRP pool (taken from both sides). Requests are
// completed after m_cq_lock is dropped, so end_io may submit again.
#pragma once

#include "drivers/nvme/Prp.h"
#include "drivers/nvme/Queue.h"
#include "drivers/pci/DmaPages.h"
#include "drivers/pci/DmaPool.h"
#include "kernel/block/Driver.h"
#include "kernel/block/Request.h"
#include "kernel/lib/Atomic.h"
#include "kernel/lib/Own.h"
#include "kernel/lib/Result.h"
#include "kernel/log/RateLimit.h"
#include "kernel/sync/SpinLock.h"

namespace block {
class HwQueue;
}

namespace nvme {

class Controller;

// Per-request driver data, inside the block Request (no allocation per I/O).
struct RequestData {
    PrpDescriptor prps;
    u16 qid;
    bool aborted;
    // In the submission ring, not yet reaped (m_sq_lock to set; the reaper
    // clears it). A controller reset requeues exactly these.
    bool in_ring;
    bool requeue_pending; // marked by requeue_all_and_reset
};

class IoQueue {
public:
    static Result<Own<IoQueue>> create(Controller& controller, u16 qid, u16 depth, bool polled);
    // Frees the rings and the PRP pool: the controller no longer knows the
    // queue (deleted or disabled) and no request is in it.
    ~IoQueue();

    u16 qid() const { return m_ring.qid(); }
    u16 depth() const { return m_ring.depth(); }
    bool is_polled() const { return m_polled; }
    PhysAddr sq_phys() const { return m_sq_memory.phys(); }
    PhysAddr cq_phys() const { return m_cq_memory.phys(); }
    Queue& ring() { return m_ring; }

    // blk-mq side.
    void attach(block::HwQueue& hw) { m_hw = &hw; }
    block::HwQueue* hw_queue() { return m_hw; }
    block::QueueStatus issue(block::Request& request, bool last);
    void commit();
    // Reap completions, complete their requests; returns how many.
    u32 reap();
    // A racy peek at the next CQE's phase (no lock): worth taking the lock?
    bool has_completion_hint() const { return m_ring.has_completion(); }

    // Raw mode (benchmark): commands straight into the ring, no blk-mq. The
    // callback sees every CQE; the caller owns command ids.
    bool submit_raw(const SubmissionEntry& entry);
    u32 reap_raw(void (*on_completion)(const CompletionEntry&, void*), void* context);

    // During a controller reset, once the controller is disabled: stop
    // reaping (and wait for reapers already running, e.g. the interrupt on
    // another CPU) and submitting (issue() answers Busy), complete what the
    // controller had posted, hand every other request in the ring back to
    // blk-mq, free its PRP lists, start a fresh ring. Both stay off until
    // resume() (after the queue is created again).
    void requeue_all_and_reset();
    void resume() { m_stopped.store(false, MemoryOrder::Release); }
    void enable_shadow_doorbells(ShadowDoorbell sq, ShadowDoorbell cq);

    // Interrupt bookkeeping (set by the controller for interrupt queues).
    u32 msix_entry = 0;
    u32 cpu = 0;
    u8 vector = 0;
    char vector_name[16] = {}; // "nvme0q1", for the interrupt table
    Atomic<u64> interrupts {0};
    Atomic<u64> requeued {0}; // requests handed back to blk-mq by controller resets
    Atomic<u64> rejected_completions {0}; // stale, duplicate or unknown command ids

    DmaPool& prp_pool() { return m_prp_pool; }
    u64 prp_pages_in_use();

private:
    IoQueue(Controller& controller, u16 qid, u16 depth, bool polled, DmaPages&& sq, DmaPages&& cq,
            volatile u32* sq_doorbell, volatile u32* cq_doorbell);
    Result<void> build_command(block::Request& request, SubmissionEntry& entry);
    u32 reap_locked_batches();
    // The request a completion ends, or nullptr when the completion does not
    // belong to the command in flight under its tag (CommandId.h). CQ lock held.
    block::Request* accept_completion(const CompletionEntry& cqe);
    void report_error(const block::Request& request, u16 status, int error);
    void free_prps(RequestData& data);

    Controller& m_controller;
    bool m_polled;
    DmaPages m_sq_memory;
    DmaPages m_cq_memory;
    Queue m_ring;
    block::HwQueue* m_hw = nullptr;
    SpinLock m_sq_lock{LockRank::Driver, "nvme sq"};
    SpinLock m_cq_lock{LockRank::Driver, "nvme cq"};
    SpinLock m_pool_lock{LockRank::Driver, "nvme command pool"};
    DmaPool m_prp_pool;
    RateLimit m_warnings; // driver warnings from the interrupt path
    // Reset handshake (requeue_all_and_reset): reap() does nothing and
    // issue() says Busy while m_stopped (read under m_sq_lock there), and
    // m_reapers counts reap() calls in progress.
    Atomic<bool> m_stopped {false};
    Atomic<u32> m_reapers {0};
};

} // namespace nvme
