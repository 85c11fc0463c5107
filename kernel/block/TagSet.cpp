#include "kernel/block/TagSet.h"

#include "kernel/block/BlkMq.h"
#include "kernel/block/QueueMap.h"
#include "kernel/block/SchedulerChoice.h"
#include "kernel/block/Worker.h"
#include "kernel/debug/Panic.h"
#include "kernel/lib/String.h"
#include "kernel/log/Log.h"
#include "kernel/mm/Heap.h"
#include "kernel/time/Clock.h"

namespace block {

Result<Own<TagSet>> TagSet::create(const TagSetConfig& config)
{
    if (!config.driver || config.interrupt_queues == 0 || config.queue_depth == 0 ||
        config.queue_depth > MAX_TAGS)
        return Error::from_errno(EINVAL);
    // Owned from here: a failure below frees what was built (~TagSet).
    auto set = TRY(adopt_own_or_enomem(new (nothrow) TagSet()));
    set->m_config = config;
    set->m_hw_count = config.interrupt_queues + config.poll_queues;
    set->m_cpu_count = max<u32>(1, percpu::possible_count());

    map_cpus_to_queues(set->m_map, set->m_cpu_count, config.interrupt_queues);
    if (config.poll_queues) {
        map_cpus_to_queues(set->m_poll_map, set->m_cpu_count, config.poll_queues);
        for (u32 cpu = 0; cpu < set->m_cpu_count; cpu++)
            set->m_poll_map[cpu] = static_cast<u16>(set->m_poll_map[cpu] + config.interrupt_queues);
    } else {
        for (u32 cpu = 0; cpu < set->m_cpu_count; cpu++)
            set->m_poll_map[cpu] = set->m_map[cpu];
    }

    set->m_sw = new (nothrow) SoftwareQueue[set->m_cpu_count];
    set->m_hw = static_cast<HwQueue**>(kzalloc(sizeof(HwQueue*) * set->m_hw_count));
    if (!set->m_sw || !set->m_hw)
        return Error::from_errno(ENOMEM);

    const usize stride = REQUEST_DRIVER_DATA_OFFSET + align_up<usize>(config.driver_data_size, 64);
    for (u32 q = 0; q < set->m_hw_count; q++) {
        const bool poll = q >= config.interrupt_queues;
        // HwQueue holds cache-line-aligned tag words: align it by hand
        // (kmalloc promises less than 64 bytes).
        void* memory = kmalloc(sizeof(HwQueue) + 64);
        if (!memory)
            return Error::from_errno(ENOMEM);
        auto* hw = new (reinterpret_cast<void*>(align_up<uptr>(reinterpret_cast<uptr>(memory), 64)))
            HwQueue(*set, q, poll, config.queue_depth);
        hw->m_allocation = memory;
        hw->m_stride = stride;
        set->m_hw[q] = hw; // the set frees it from here on
        hw->m_requests = static_cast<u8*>(kzalloc(stride * config.queue_depth));
        if (!hw->m_requests)
            return Error::from_errno(ENOMEM);
        hw->m_scheduler = config.scheduler == SchedulerKind::MqDeadline ? static_cast<Scheduler*>(&hw->m_deadline)
                                                                         : &hw->m_none;
        for (u32 cpu = 0; cpu < set->m_cpu_count; cpu++)
            if ((poll ? set->m_poll_map[cpu] : set->m_map[cpu]) == q)
                hw->m_cpus.add(cpu);
        for (u32 tag = 0; tag < config.queue_depth; tag++) {
            Request* request = new (&hw->request(tag)) Request();
            request->tag = tag;
            request->hw_queue = hw;
            config.driver->init_request(*hw, *request);
        }
    }
    return set;
}

TagSet::~TagSet()
{
    // The timer callback and the worker look at m_dead before arming again.
    // Cancel (waits for a callback running elsewhere), make the worker drop
    // the set (waits for a check in progress), cancel what that check armed.
    m_dead.store(true, MemoryOrder::SeqCst);
    timer_cancel(m_timeout_timer);
    forget_timeout_checks(*this);
    timer_cancel(m_timeout_timer);
    for (u32 q = 0; m_hw && q < m_hw_count; q++) {
        HwQueue* hw = m_hw[q];
        if (!hw)
            continue;
        ASSERT(hw->tags_in_use() == 0 && !hw->m_parked_head);
        kfree(hw->m_requests);
        // The HwQueue sits inside an aligned kmalloc block: find its start.
        kfree(hw->m_allocation);
    }
    kfree(m_hw);
    delete[] m_sw;
}

HwQueue& TagSet::hw_queue_for_cpu(u32 cpu, bool polled)
{
    if (cpu >= m_cpu_count)
        cpu %= m_cpu_count;
    return *m_hw[polled ? m_poll_map[cpu] : m_map[cpu]];
}

Result<void> TagSet::set_scheduler(SchedulerKind kind)
{
    // Requests already inside a scheduler would be stranded by a switch.
    for (u32 q = 0; q < m_hw_count; q++) {
        SpinLockGuard guard(m_hw[q]->m_lock);
        if (m_hw[q]->m_scheduler->has_work())
            return Error::from_errno(EBUSY);
    }
    for (u32 q = 0; q < m_hw_count; q++) {
        HwQueue& hw = *m_hw[q];
        SpinLockGuard guard(hw.m_lock);
        if (hw.m_scheduler->has_work())
            return Error::from_errno(EBUSY);
        hw.m_scheduler = kind == SchedulerKind::MqDeadline ? static_cast<Scheduler*>(&hw.m_deadline) : &hw.m_none;
    }
    m_config.scheduler = kind;
    return {};
}

void TagSet::check_timeouts(u64 now_ns)
{
    for (u32 q = 0; q < m_hw_count; q++) {
        HwQueue& hw = *m_hw[q];
        for (u32 tag = 0; tag < hw.depth(); tag++) {
            Request& request = hw.request(tag);
            if (request.state.load(MemoryOrder::Acquire) != RequestState::Issued)
                continue;
            // The issue this deadline belongs to (read before the claim: a
            // reissue after it bumps the generation and sets a new deadline).
            const u32 generation = request.generation.load(MemoryOrder::Acquire);
            u64 deadline = request.timeout_deadline_ns.load(MemoryOrder::Relaxed);
            if (deadline == 0 || deadline > now_ns)
                continue;
            // Claim the timeout once: a concurrent check skips it.
            // A completion zeroes the deadline and a new issue sets a later
            // one, so the claim fails for a request that ended meanwhile.
            if (!request.timeout_deadline_ns.compare_exchange_strong(deadline, 0, MemoryOrder::AcqRel,
                                                                     MemoryOrder::Relaxed))
                continue;
            if (request.state.load(MemoryOrder::Acquire) != RequestState::Issued ||
                request.generation.load(MemoryOrder::Acquire) != generation)
                continue;
            log_warn("block", "%s: request tag %u on queue %u timed out (sector %lu, %u bytes)", name(), tag, q,
                     request.sector, request.size_bytes);
            m_timed_out.fetch_add(1, MemoryOrder::Relaxed);
            if (driver().timeout(request, generation) == TimeoutAction::ResetTimer)
                request.timeout_deadline_ns.store(clock_ns() + m_config.timeout_ns, MemoryOrder::Relaxed);
        }
    }
}

u64 TagSet::timeout_check_interval_ns() const
{
    // A quarter of the timeout, between 1 ms and 1 s: a request is noticed at
    // most a quarter late, and a 30 s timeout costs one wake-up a second
    // while I/O is in flight (none when idle).
    return min<u64>(1'000'000'000ul, max<u64>(1'000'000ul, m_config.timeout_ns / 4));
}

void TagSet::timeout_timer_fired(Timer& timer)
{
    // Timer interrupt: only hand the scan to the block worker.
    auto& set = *static_cast<TagSet*>(timer.context);
    if (set.m_dead.load(MemoryOrder::Acquire))
        return;
    set.m_timer_fired.fetch_add(1, MemoryOrder::Relaxed);
    set.m_check_pending.store(true, MemoryOrder::Release);
    if (!queue_timeout_check(set)) // no worker yet: look again later
        timer_arm(set.m_timeout_timer, clock_ns() + set.timeout_check_interval_ns(), timeout_timer_fired);
}

void TagSet::start_timeout_timer()
{
    // The caller stored Issued into its requests; the fence orders those
    // stores before the load of m_timer_armed (pairs with the fence in
    // run_timeout_check): either we see the timer disarmed and arm it, or the
    // worker's rescan sees our requests. One fence per dispatched batch.
    atomic_thread_fence(MemoryOrder::SeqCst);
    if (m_timer_armed.load(MemoryOrder::Relaxed) || m_timer_armed.exchange(true, MemoryOrder::AcqRel))
        return;
    m_timeout_timer.context = this;
    timer_arm(m_timeout_timer, clock_ns() + timeout_check_interval_ns(), timeout_timer_fired);
}

bool TagSet::any_issued() const
{
    for (u32 q = 0; q < m_hw_count; q++) {
        HwQueue& hw = *m_hw[q];
        for (u32 tag = 0; tag < hw.depth(); tag++)
            if (hw.request(tag).state.load(MemoryOrder::Acquire) == RequestState::Issued)
                return true;
    }
    return false;
}

void TagSet::run_timeout_check()
{
    if (!m_check_pending.exchange(false, MemoryOrder::AcqRel))
        return;
    m_checks.fetch_add(1, MemoryOrder::Relaxed);
    check_timeouts(clock_ns());
    if (!any_issued()) {
        // Idle: disarm, then look once more (a dispatcher that still saw the
        // timer armed has made its requests visible by now; fence pairs with
        // start_timeout_timer).
        m_timer_armed.store(false, MemoryOrder::SeqCst);
        atomic_thread_fence(MemoryOrder::SeqCst);
        if (!any_issued() || m_timer_armed.exchange(true, MemoryOrder::AcqRel))
            return;
    }
    if (m_dead.load(MemoryOrder::Acquire))
        return;
    timer_arm(m_timeout_timer, clock_ns() + timeout_check_interval_ns(), timeout_timer_fired);
}

TagSet::TimeoutCounters TagSet::timeout_counters() const
{
    return TimeoutCounters {m_timer_fired.load(MemoryOrder::Relaxed), m_checks.load(MemoryOrder::Relaxed),
                            m_timed_out.load(MemoryOrder::Relaxed)};
}

void TagSet::kick_all()
{
    // Whatever the driver said Busy about before (e.g. during its reset) is
    // retried now.
    for (u32 q = 0; q < m_hw_count; q++) {
        m_hw[q]->m_kicks.fetch_add(1, MemoryOrder::SeqCst); // see dispatch_all
        m_hw[q]->m_restart.store(false, MemoryOrder::Release);
        m_hw[q]->run();
    }
}

void TagSet::print_queue_map() const
{
    log_info("block", "%s: %u hardware queues (%u interrupt, %u polled), depth %u, scheduler %s", name(), m_hw_count,
             m_config.interrupt_queues, m_config.poll_queues, m_config.queue_depth,
             scheduler_kind_name(m_config.scheduler));
    for (u32 cpu = 0; cpu < m_cpu_count; cpu++)
        log_info("block", "%s: cpu %u -> queue %u", name(), cpu, m_map[cpu]);
    if (m_config.poll_queues)
        for (u32 cpu = 0; cpu < m_cpu_count; cpu++)
            log_info("block", "%s: cpu %u -> poll queue %u", name(), cpu, m_poll_map[cpu]);
}


} // namespace block
