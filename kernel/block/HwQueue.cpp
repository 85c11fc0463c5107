// A hardware queue's request and tag side (allocation, parking a bio until a
// tag frees, release) and its dispatcher. See HwQueue.h.
#include "kernel/block/HwQueue.h"

#include "arch/x86_64/Cpu.h"
#include "kernel/block/BlkMq.h"
#include "kernel/block/BlockDevice.h"
#include "kernel/block/TagSet.h"
#include "kernel/debug/Panic.h"
#include "kernel/log/Log.h"
#include "kernel/time/Clock.h"

namespace block {

namespace {

// Requests handed to the driver per dispatch round: one doorbell each.
constexpr u32 DISPATCH_BATCH = 32;

} // namespace

// --- requests and tags -----------------------------------------------------------

Request* HwQueue::alloc_request(Bio& bio)
{
    const u32 cpu = current_cpu_index();
    const u32 tag = m_tags.alloc(m_tag_hint[cpu % MAX_CPUS]);
    if (tag == NO_TAG)
        return nullptr;
    Request& request = this->request(tag);
    ASSERT(request.state.load(MemoryOrder::Relaxed) == RequestState::Idle);
    BlockDevice& device = *bio.device;
    request_init_from_bio(request, bio, device.limits());
    // The software queue must be one this hardware queue drains: a submitter
    // preempted after choosing us may be running on a CPU mapped elsewhere.
    u32 sw_cpu = cpu % m_set->cpu_count();
    if (!m_cpus.has(sw_cpu))
        for (u32 mapped : m_cpus) {
            sw_cpu = mapped;
            break;
        }
    request.submit_cpu = sw_cpu;
    // Parked bios start when they get their tag; others when submitted
    // (one clock read less per I/O).
    request.start_ns = m_parked_count.load(MemoryOrder::Relaxed) ? clock_ns() : bio.submit_ns;
    device.stats().start_io(request.start_ns);
    // The request keeps the device in use until complete_request is done
    // with it (DeviceRemoval.h); our caller holds a reference meanwhile.
    device.enter();
    return &request;
}

Request* HwQueue::alloc_request_or_park(Bio& bio)
{
    // Bios already waiting go first: a newcomer parks behind them.
    if (!m_parked_count.load(MemoryOrder::Acquire))
        if (Request* request = alloc_request(bio))
            return request;
    u32 unparked = 0;
    {
        SpinLockGuard guard(m_lock);
        bio.next = nullptr;
        if (m_parked_tail)
            m_parked_tail->next = &bio;
        else
            m_parked_head = &bio;
        m_parked_tail = &bio;
        // Sequentially consistent (a locked instruction, a full barrier):
        // either release_tag() sees this count, or we see the tag it freed
        // in unpark_locked() below - never neither.
        m_parked_count.store(m_parked_count.load(MemoryOrder::Relaxed) + 1, MemoryOrder::SeqCst);
        atomic_thread_fence(MemoryOrder::SeqCst); // the tag loads below stay after the store
        m_tag_waits.fetch_add(1, MemoryOrder::Relaxed);
        unparked = unpark_locked();
    }
    if (unparked)
        run();
    return nullptr;
}

u32 HwQueue::unpark_locked()
{
    u32 unparked = 0;
    while (Bio* bio = m_parked_head) {
        Bio* next = bio->next;
        Request* request = alloc_request(*bio);
        if (!request)
            break;
        m_parked_head = next;
        if (!m_parked_head)
            m_parked_tail = nullptr;
        m_parked_count.store(m_parked_count.load(MemoryOrder::Relaxed) - 1, MemoryOrder::Release);
        request->state.store(RequestState::Queued, MemoryOrder::Relaxed);
        m_scheduler->insert(*request, request->start_ns);
        unparked++;
    }
    return unparked;
}

void HwQueue::release_tag(Request& request)
{
    request.state.store(RequestState::Idle, MemoryOrder::Release);
    // A locked instruction: a full barrier before the parked count is read
    // (pairs with alloc_request_or_park). The common case takes no lock.
    m_tags.free(request.tag);
    if (!m_parked_count.load(MemoryOrder::SeqCst))
        return;
    u32 unparked = 0;
    {
        SpinLockGuard guard(m_lock);
        unparked = unpark_locked();
    }
    if (unparked)
        run();
}

// --- dispatch ----------------------------------------------------------------------

void HwQueue::run()
{
    // One dispatcher at a time keeps batches whole. Whoever finds the queue
    // busy leaves a note (m_rerun) that the dispatcher reads before leaving.
    m_rerun.store(true, MemoryOrder::SeqCst);
    while (true) {
        bool expected = false;
        if (!m_dispatching.compare_exchange_strong(expected, true, MemoryOrder::SeqCst, MemoryOrder::SeqCst))
            return;
        while (m_rerun.exchange(false, MemoryOrder::SeqCst))
            dispatch_all();
        m_dispatching.store(false, MemoryOrder::SeqCst);
        if (!m_rerun.load(MemoryOrder::SeqCst))
            return;
    }
}

void HwQueue::dispatch_all()
{
    BlockDriver& driver = m_set->driver();
    const u64 timeout_ns = m_set->config().timeout_ns;
    while (true) {
        Request* batch[DISPATCH_BATCH];
        u32 count = 0;
        u64 now = 0;
        {
            SpinLockGuard guard(m_lock);
            if (m_restart.load(MemoryOrder::Acquire))
                return; // the device is full; a completion will rerun us
            // Software queues -> scheduler. An empty one is skipped without
            // its lock: whoever inserts after this look calls run(), and
            // m_rerun brings the dispatcher back for it.
            now = clock_ns();
            for (u32 cpu : m_cpus) {
                SoftwareQueue& sw = m_set->software_queue(cpu);
                if (sw.requests[m_poll].is_empty())
                    continue;
                SpinLockGuard sw_guard(sw.lock);
                while (Request* request = sw.requests[m_poll].pop_front())
                    m_scheduler->insert(*request, now);
            }
            while (count < DISPATCH_BATCH) {
                Request* request = m_scheduler->dispatch(now);
                if (!request)
                    break;
                batch[count++] = request;
            }
        }
        if (count == 0)
            return;

        // Completions and kicks seen from here on (pairs with the check after
        // a Busy below).
        const u64 restart_events = restart_event_count();
        u32 issued = 0;
        for (; issued < count; issued++) {
            Request& request = *batch[issued];
            request.issue_ns = now;
            request.timeout_deadline_ns.store(now + timeout_ns, MemoryOrder::Relaxed);
            request.generation.fetch_add(1u, MemoryOrder::Relaxed);
            request.state.store(RequestState::Issued, MemoryOrder::Release);
            if (driver.queue_request(*this, request, issued + 1 == count) == QueueStatus::Busy) {
                request.state.store(RequestState::Queued, MemoryOrder::Relaxed);
                break;
            }
        }
        m_dispatched.fetch_add(issued, MemoryOrder::Relaxed);
        if (issued) {
            m_batches.fetch_add(1, MemoryOrder::Relaxed);
            m_set->start_timeout_timer();
        }
        if (issued == count)
            continue;

        // Busy: keep the rest, in order, at the front; ring for what went out.
        m_busy.fetch_add(1, MemoryOrder::Relaxed);
        {
            SpinLockGuard guard(m_lock);
            for (u32 i = count; i > issued; i--) {
                batch[i - 1]->state.store(RequestState::Queued, MemoryOrder::Relaxed);
                m_scheduler->requeue(*batch[i - 1]);
            }
            m_restart.store(true, MemoryOrder::SeqCst);
        }
        if (issued)
            driver.commit(*this);
        // A completion (or kick_all) between the driver's Busy and the flag
        // above found no flag to act on: it freed room nobody will use. Each
        // side stores, then loads the other's variable (both sequentially
        // consistent), so at least one of us sees the other: retry here.
        if (restart_event_count() != restart_events
            && m_restart.exchange(false, MemoryOrder::AcqRel))
            continue;
        return;
    }
}

// Queue a built request on this CPU's software queue (state Queued).
void HwQueue::insert(Request& request)
{
    // The software queue of the CPU the request was built for, which maps to
    // this hardware queue (the submitter may have moved since).
    ASSERT(request.hw_queue == this);
    SoftwareQueue& sw = m_set->software_queue(request.submit_cpu);
    SpinLockGuard guard(sw.lock);
    request.state.store(RequestState::Queued, MemoryOrder::Relaxed);
    sw.requests[m_poll].push_back(request);
}

HwQueue::Counters HwQueue::counters() const
{
    return Counters {
        m_dispatched.load(MemoryOrder::Relaxed), m_batches.load(MemoryOrder::Relaxed),
        m_busy.load(MemoryOrder::Relaxed),       m_completed.load(MemoryOrder::Relaxed),
        m_tag_waits.load(MemoryOrder::Relaxed),
    };
}

} // namespace block
