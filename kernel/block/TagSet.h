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
#include "kernel/block/HwQueue.h"
#include "kernel/block/Scheduler.h"
#include "kernel/block/Tags.h"
#include "kernel/irq/CpuMask.h"
#include "kernel/lib/Own.h"
#include "kernel/lib/Result.h"
#include "kernel/sync/SpinLock.h"
#include "kernel/time/Timer.h"

namespace block {

class TagSet;

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
    Atomic<bool> m_timer_armed {false};   // the timer is pending or a check is due
    Atomic<bool> m_check_pending {false}; // the timer fired; the worker has not scanned yet
    Atomic<bool> m_dead {false};          // ~TagSet began; the timer is not armed again
    Atomic<u64> m_timer_fired {0}, m_checks {0}, m_timed_out {0};
};

} // namespace block
