// The queues of one controller: per-CPU software queues, hardware queues
// (one per device submission ring, each with its tags, request array,
// scheduler and dispatch state), and the CPU -> hardware queue maps (one for
// interrupt-driven queues, one for polled queues). Shared by every
// BlockDevice (namespace) of that controller, as Linux's blk_mq_tag_set, so
// tags - and NVMe command ids - are unique per submission ring.
#pragma once

#include "arch/x86_64/PerCpu.h"
#include "kernel/block/DeadlineScheduler.h"
#include "kernel/block/Driver.h"
#include "kernel/block/Scheduler.h"
#include "kernel/block/Tags.h"
#include "kernel/irq/CpuMask.h"
#include "kernel/lib/Own.h"
#include "kernel/lib/Result.h"
#include "kernel/sync/SpinLock.h"
#include "kernel/time/Timer.h"

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

    // blk-mq internals (BlkMq.cpp), not for drivers:
    // a request for `bio` with a free tag (state Building), or nullptr;
    Request* alloc_request(Bio& bio);
    // the same, but when no tag is free, park `bio` until one is (it is then
    // queued from the completion path) and return nullptr.
    Request* alloc_request_or_park(Bio& bio);

    struct Counters {
        u64 dispatched;      // requests handed to queue_request
        u64 batches;         // dispatch rounds that issued at least one request
        u64 busy;            // queue_request answered Busy
        u64 completed;
        u64 tag_waits;       // bios parked because every tag was taken
    };
    Counters counters() const;
    u32 tags_in_use() const { return m_tags.in_use(); }
    bool restart_pending() const { return __atomic_load_n(&m_restart, __ATOMIC_ACQUIRE); }
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
    u32 m_parked_count = 0; // written under m_lock, read without it
    // Completions plus kicks: what may have cleared room after a Busy.
    u64 restart_event_count() const
    {
        return __atomic_load_n(&m_completed, __ATOMIC_SEQ_CST) + __atomic_load_n(&m_kicks, __ATOMIC_SEQ_CST);
    }
    bool m_restart = false; // the driver said Busy: run again after a completion (atomic)
    u64 m_kicks = 0; // kick_all() calls; with m_completed, the Busy/restart race's event count (atomic)

    // Single dispatcher at a time; others set m_rerun (see run()).
    bool m_dispatching = false;
    bool m_rerun = false;

    u64 m_dispatched = 0, m_batches = 0, m_busy = 0, m_completed = 0, m_tag_waits = 0;
};

class TagSet {
public:
    static Result<Own<TagSet>> create(const TagSetConfig& config);
    // Frees the set and everything it holds (what create() built so far, if
    // it failed part-way). No request may be in use (every device on it
    // removed: DeviceRemoval.h); the timeout timer and the block worker are
    // made to forget it first.
    ~TagSet();
    TagSet(const TagSet&) = delete;
    TagSet& operator=(const TagSet&) = delete;

    const TagSetConfig& config() const { return m_config; }
    BlockDriver& driver() { return *m_config.driver; }
    void* driver_data() { return m_config.driver_data; }
    const char* name() const { return m_config.name; }

    u32 hw_queue_count() const { return m_hw_count; }
    u32 interrupt_queue_count() const { return m_config.interrupt_queues; }
    u32 poll_queue_count() const { return m_config.poll_queues; }
    HwQueue& hw_queue(u32 index) { return *m_hw[index]; }
    // Hardware queues 0..interrupt_queues-1 take interrupts; the rest are polled.
    HwQueue& hw_queue_for_cpu(u32 cpu, bool polled);
    u32 cpu_count() const { return m_cpu_count; }
    SoftwareQueue& software_queue(u32 cpu) { return m_sw[cpu]; }

    // The scheduler of every hardware queue; EBUSY while any has requests
    // queued (in practice: call it before the first I/O, as register_device
    // does for blk.scheduler). Every device on this set shares it.
    Result<void> set_scheduler(SchedulerKind kind);
    SchedulerKind scheduler() const { return m_config.scheduler; }
    // The device whose blk.scheduler entry set the scheduler, or nullptr
    // (still the driver's default).
    const char* scheduler_chosen_by() const { return m_scheduler_chosen_by; }
    void set_scheduler_chosen_by(const char* device_name) { m_scheduler_chosen_by = device_name; }
    // Check every issued request against its deadline; calls the driver's
    // timeout() for the overdue. Thread context (the driver may reset the
    // controller): the block worker runs it when the timeout timer fires.
    void check_timeouts(u64 now_ns);
    // How often the timeout timer fires while requests are in flight.
    u64 timeout_check_interval_ns() const;
    // Arm the timeout timer unless it is armed (after a dispatch; any context).
    void start_timeout_timer();
    // The block worker's part: check, then re-arm while anything is issued.
    void run_timeout_check();
    // Rerun every hardware queue (after a controller reset requeued requests).
    void kick_all();
    // Log the CPU -> queue maps.
    void print_queue_map() const;

    struct TimeoutCounters {
        u64 timer_fired; // timeout timer expirations
        u64 checks;      // scans done by the block worker
        u64 timed_out;   // requests handed to the driver's timeout()
    };
    TimeoutCounters timeout_counters() const;

private:
    TagSet() = default;
    bool any_issued() const;
    static void timeout_timer_fired(Timer& timer);

    TagSetConfig m_config;
    u32 m_hw_count = 0;
    u32 m_cpu_count = 0;
    HwQueue** m_hw = nullptr;
    SoftwareQueue* m_sw = nullptr;
    u16 m_map[MAX_CPUS] {};      // CPU -> interrupt-driven queue
    u16 m_poll_map[MAX_CPUS] {}; // CPU -> polled queue (offset by interrupt_queues)
    const char* m_scheduler_chosen_by = nullptr;

    // Request timeouts (kernel/block/Worker.h): a kernel timer, armed while
    // requests are in flight, wakes the block worker to scan this set.
    Timer m_timeout_timer;
    bool m_timer_armed = false;   // atomic: the timer is pending or a check is due
    bool m_check_pending = false; // atomic: the timer fired; the worker has not scanned yet
    bool m_dead = false;          // atomic: destroy() began; the timer is not armed again
    u64 m_timer_fired = 0, m_checks = 0, m_timed_out = 0;
};

} // namespace block
