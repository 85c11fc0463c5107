// A hardware queue of a tag set (Linux blk_mq_hw_ctx): its tags and
// preallocated requests, its scheduler, the bios parked for a tag, and the
// dispatcher that hands requests to the driver in batches - plus the per-CPU
// software queues in front of it. The TagSet (TagSet.h) creates and frees
// them; HwQueue.cpp is the request/tag and dispatch side, BlkMq.cpp the
// completion and submission paths.
#pragma once

#include "arch/x86_64/PerCpu.h"
#include "kernel/block/DeadlineScheduler.h"
#include "kernel/block/Request.h"
#include "kernel/block/Scheduler.h"
#include "kernel/block/Tags.h"
#include "kernel/irq/CpuMask.h"
#include "kernel/lib/Atomic.h"
#include "kernel/sync/SpinLock.h"

namespace block {

class TagSet;

// A CPU's staging list in front of the hardware queue it maps to: requests
// land here from submit_bio/plug flush on that CPU and are moved into the
// scheduler when the hardware queue runs (Linux blk_mq_ctx).
struct SoftwareQueue {
    SpinLock lock{LockRank::BlockStaging, "blk software queue"};
    RequestList requests[2]; // [0] for the interrupt-driven queue, [1] for the polled one
};

class HwQueue {
public:
    u32 index() const { return m_index; }
    bool is_poll() const { return m_poll; }
    TagSet& tag_set() { return *m_set; }
    CpuMask cpus() const { return m_cpus; }
    u32 depth() const { return m_tags.depth(); }

    // Command id -> request (the tag indexes the preallocated array).
    Request& request(u32 tag) { return *reinterpret_cast<Request*>(m_requests + usize(tag) * m_stride); }

    // The driver's object for this queue (its NVMe queue pair, its virtqueue).
    void* driver_data = nullptr;

    // Start dispatching (or note that the dispatcher must go round again).
    void run();

    // blk-mq internals (HwQueue.cpp), not for drivers:
    // a request for `bio` with a free tag (state Building), or nullptr;
    Request* alloc_request(Bio& bio);
    // the same, but when no tag is free, park `bio` until one is (it is then
    // queued from the completion path) and return nullptr.
    Request* alloc_request_or_park(Bio& bio);
    // put a built request on the software queue of the CPU it was built for
    // (state Queued); run() dispatches it.
    void insert(Request& request);

    struct Counters {
        u64 dispatched;      // requests handed to queue_request
        u64 batches;         // dispatch rounds that issued at least one request
        u64 busy;            // queue_request answered Busy
        u64 completed;
        u64 tag_waits;       // bios parked because every tag was taken
    };
    Counters counters() const;
    u32 tags_in_use() const { return m_tags.in_use(); }
    bool restart_pending() const { return m_restart.load(MemoryOrder::Acquire); }
    const char* scheduler_name() const { return m_scheduler->name(); }

private:
    friend class TagSet;
    friend void complete_request(Request&, int);
    friend void requeue_request(Request&);

    HwQueue(TagSet& set, u32 index, bool poll, u32 depth) : m_set(&set), m_index(index), m_poll(poll), m_tags(depth) { }
    void dispatch_all();
    void release_tag(Request& request);
    // Give free tags to parked bios, oldest first (m_lock held); how many.
    u32 unpark_locked();

    TagSet* m_set;
    u32 m_index;
    bool m_poll;
    CpuMask m_cpus;
    TagAllocator m_tags;
    void* m_allocation = nullptr; // the kmalloc block this HwQueue was placed in
    u8* m_requests = nullptr;
    usize m_stride = 0;
    u32 m_tag_hint[MAX_CPUS] {};

    // Guards the scheduler, the parked bios and m_restart.
    SpinLock m_lock{LockRank::Block, "blk hardware queue"};
    Scheduler* m_scheduler = nullptr;
    NoneScheduler m_none;
    DeadlineScheduler m_deadline;
    Bio* m_parked_head = nullptr; // bios waiting for a tag, FIFO through Bio::next
    Bio* m_parked_tail = nullptr;
    Atomic<u32> m_parked_count {0}; // written under m_lock, read without it
    // Completions plus kicks: what may have cleared room after a Busy.
    u64 restart_event_count() const
    {
        return m_completed.load(MemoryOrder::SeqCst) + m_kicks.load(MemoryOrder::SeqCst);
    }
    Atomic<bool> m_restart {false}; // the driver said Busy: run again after a completion
    Atomic<u64> m_kicks {0}; // kick_all() calls; with m_completed, the Busy/restart race's event count

    // Single dispatcher at a time; others set m_rerun (see run()).
    Atomic<bool> m_dispatching {false};
    Atomic<bool> m_rerun {false};

    Atomic<u64> m_dispatched {0}, m_batches {0}, m_busy {0}, m_completed {0}, m_tag_waits {0};
};

} // namespace block
