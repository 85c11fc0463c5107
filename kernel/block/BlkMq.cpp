// blk-mq: from submit_bio to the driver and back. See BlkMq.h for the path.
#include "kernel/block/BlkMq.h"

#include "arch/x86_64/Cpu.h"
#include "arch/x86_64/PerCpu.h"
#include "kernel/debug/Panic.h"
#include "kernel/log/Log.h"
#include "kernel/mm/Heap.h"
#include "kernel/sched/Scheduler.h"
#include "kernel/sched/Thread.h"
#include "kernel/sync/Completion.h"
#include "kernel/time/Clock.h"

namespace block {

namespace {

// Requests handed to the driver per dispatch round: one doorbell each.
constexpr u32 DISPATCH_BATCH = 32;

mm::SlabCache* g_bio_cache = nullptr;

StatGroup stat_group(BioOp op)
{
    switch (op) {
    case BioOp::Read: return StatGroup::Read;
    case BioOp::Write: return StatGroup::Write;
    case BioOp::Flush: return StatGroup::Flush;
    }
    return StatGroup::Read;
}

// The first error wins; later ones (from other split children) are dropped.
void record_status(Bio& bio, int status)
{
    if (status == 0)
        return;
    int expected = 0;
    __atomic_compare_exchange_n(&bio.status, &expected, status, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}

// The cache of split children, created on first use. CPUs splitting their
// first bios at once may each create one: only the first published is ever
// used (a child freed into another cache than it came from is a panic), the
// loser's empty cache is left unused (there is no destroy).
mm::SlabCache* bio_cache()
{
    mm::SlabCache* cache = __atomic_load_n(&g_bio_cache, __ATOMIC_ACQUIRE);
    if (cache)
        return cache;
    mm::SlabCache* created = mm::slab_cache_create("bio", sizeof(Bio), alignof(Bio));
    if (!created)
        return nullptr;
    if (__atomic_compare_exchange_n(&g_bio_cache, &cache, created, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        return created;
    return cache;
}

Bio* alloc_child_bio()
{
    mm::SlabCache* cache = bio_cache();
    void* memory = cache ? mm::slab_alloc(cache) : nullptr;
    return memory ? new (memory) Bio() : nullptr;
}

void free_child_bio(Bio& bio) { mm::slab_free(__atomic_load_n(&g_bio_cache, __ATOMIC_ACQUIRE), &bio); }

void child_end_io(Bio&) { }

} // namespace

void bio_endio(Bio& bio, int status)
{
    record_status(bio, status);
    // A split parent ends when its own part and every child have ended.
    if (bio.pending_children && __atomic_sub_fetch(&bio.pending_children, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    if (bio.parent) {
        Bio& parent = *bio.parent;
        const int child_status = bio.status;
        free_child_bio(bio);
        bio_endio(parent, child_status);
        return;
    }
    if (bio.end_io)
        bio.end_io(bio);
}

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
    request.start_ns = __atomic_load_n(&m_parked_count, __ATOMIC_RELAXED) ? clock_ns() : bio.submit_ns;
    device.stats().start_io(request.start_ns);
    // The request keeps the device in use until complete_request is done
    // with it (DeviceRemoval.h); our caller holds a reference meanwhile.
    device.enter();
    return &request;
}

Request* HwQueue::alloc_request_or_park(Bio& bio)
{
    // Bios already waiting go first: a newcomer parks behind them.
    if (!__atomic_load_n(&m_parked_count, __ATOMIC_ACQUIRE))
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
        __atomic_store_n(&m_parked_count, m_parked_count + 1, __ATOMIC_SEQ_CST);
        __atomic_thread_fence(__ATOMIC_SEQ_CST); // the tag loads below stay after the store
        m_tag_waits++;
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
        __atomic_store_n(&m_parked_count, m_parked_count - 1, __ATOMIC_RELEASE);
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
    if (!__atomic_load_n(&m_parked_count, __ATOMIC_SEQ_CST))
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
    __atomic_store_n(&m_rerun, true, __ATOMIC_SEQ_CST);
    while (true) {
        bool expected = false;
        if (!__atomic_compare_exchange_n(&m_dispatching, &expected, true, false, __ATOMIC_SEQ_CST,
                                         __ATOMIC_SEQ_CST))
            return;
        while (__atomic_exchange_n(&m_rerun, false, __ATOMIC_SEQ_CST))
            dispatch_all();
        __atomic_store_n(&m_dispatching, false, __ATOMIC_SEQ_CST);
        if (!__atomic_load_n(&m_rerun, __ATOMIC_SEQ_CST))
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
            if (__atomic_load_n(&m_restart, __ATOMIC_ACQUIRE))
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
        __atomic_fetch_add(&m_dispatched, issued, __ATOMIC_RELAXED);
        if (issued) {
            __atomic_fetch_add(&m_batches, 1, __ATOMIC_RELAXED);
            m_set->start_timeout_timer();
        }
        if (issued == count)
            continue;

        // Busy: keep the rest, in order, at the front; ring for what went out.
        __atomic_fetch_add(&m_busy, 1, __ATOMIC_RELAXED);
        {
            SpinLockGuard guard(m_lock);
            for (u32 i = count; i > issued; i--) {
                batch[i - 1]->state.store(RequestState::Queued, MemoryOrder::Relaxed);
                m_scheduler->requeue(*batch[i - 1]);
            }
            __atomic_store_n(&m_restart, true, __ATOMIC_SEQ_CST);
        }
        if (issued)
            driver.commit(*this);
        // A completion (or kick_all) between the driver's Busy and the flag
        // above found no flag to act on: it freed room nobody will use. Each
        // side stores, then loads the other's variable (both sequentially
        // consistent), so at least one of us sees the other: retry here.
        if (restart_event_count() != restart_events
            && __atomic_exchange_n(&m_restart, false, __ATOMIC_ACQ_REL))
            continue;
        return;
    }
}

// --- completion ----------------------------------------------------------------------

void complete_request(Request& request, int error)
{
    const RequestState state = request.state.load(MemoryOrder::Relaxed);
    ASSERT(state == RequestState::Issued || state == RequestState::Building || state == RequestState::Queued);
    request.state.store(RequestState::Completing, MemoryOrder::Release);
    request.status = error;
    HwQueue& hw = *request.hw_queue;
    BlockDevice& device = *request.device;
    const u64 now = clock_ns();
    device.stats().end_io(stat_group(request.op), request.sectors(), now - request.start_ns, now);

    // End the bios. end_io may submit new I/O (even to this queue): the
    // request is no longer linked anywhere, and the tag is still ours.
    Bio* bio = request.bio_head;
    request.bio_head = request.bio_tail = nullptr;
    while (bio) {
        Bio* next = bio->next;
        bio->next = nullptr;
        bio_endio(*bio, error);
        bio = next;
    }
    // No timeout may claim it from here on (a claim compares the deadline).
    request.timeout_deadline_ns.store(0, MemoryOrder::Relaxed);
    hw.release_tag(request);

    // The device had said Busy: a slot is free now. The completion count is
    // also the dispatcher's restart event count: it goes up before the flag
    // is read (see dispatch_all).
    __atomic_fetch_add(&hw.m_completed, 1, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&hw.m_restart, __ATOMIC_SEQ_CST) && __atomic_exchange_n(&hw.m_restart, false, __ATOMIC_ACQ_REL))
        hw.run();
    // Last: once the count reaches zero the device and its tag set may go.
    device.exit();
}

void requeue_request(Request& request)
{
    HwQueue& hw = *request.hw_queue;
    SpinLockGuard guard(hw.m_lock);
    request.state.store(RequestState::Queued, MemoryOrder::Relaxed);
    request.retries++;
    hw.m_scheduler->requeue(request);
}

// --- submission ------------------------------------------------------------------------

namespace {

// Queue a built request on this CPU's software queue (state Queued).
void insert_request(Request& request)
{
    // The software queue of the CPU the request was built for, which maps to
    // its hardware queue (the submitter may have moved since).
    HwQueue& hw = *request.hw_queue;
    SoftwareQueue& sw = hw.tag_set().software_queue(request.submit_cpu);
    SpinLockGuard guard(sw.lock);
    request.state.store(RequestState::Queued, MemoryOrder::Relaxed);
    sw.requests[hw.is_poll()].push_back(request);
}

// One bio that fits the device's limits, to a request.
void submit_one(Bio& bio, Plug* plug)
{
    BlockDevice& device = *bio.device;
    if (plug && plug->try_merge(bio))
        return;
    HwQueue& hw = device.tag_set().hw_queue_for_cpu(current_cpu_index(), bio.flags & BIO_POLLED);
    if (plug && !plug->is_empty()) {
        // Our own plugged requests may hold the last tags: send them first.
        Request* request = hw.alloc_request(bio);
        if (!request) {
            plug->flush();
            request = hw.alloc_request_or_park(bio);
        }
        if (request)
            plug->add(*request);
        return;
    }
    Request* request = hw.alloc_request_or_park(bio);
    if (!request)
        return; // parked: queued when a tag frees
    if (plug) {
        plug->add(*request);
        return;
    }
    insert_request(*request);
    hw.run();
}

} // namespace

// --- plugging (Plug.h) ---------------------------------------------------------------

Plug* current_plug()
{
    PerCpu& cpu = this_cpu();
    if (cpu.irq_depth || !cpu.current_thread)
        return nullptr;
    return cpu.current_thread->block_plug();
}

Plug::Plug()
{
    Thread* thread = this_cpu().current_thread;
    if (this_cpu().irq_depth || !thread || thread->block_plug())
        return; // nested (or interrupt context): the outer plug collects
    m_owner = thread;
    thread->set_block_plug(this);
}

Plug::~Plug()
{
    if (!m_owner)
        return;
    flush();
    m_owner->set_block_plug(nullptr);
}

void flush_plug_before_sleep(Plug& plug) { plug.flush(); }

bool Plug::try_merge(Bio& bio)
{
    if (bio.op == BioOp::Flush)
        return false;
    const QueueLimits& limits = bio.device->limits();
    for (Request& request : m_requests) {
        const MergeKind kind = merge_kind(request, bio, limits);
        if (kind != MergeKind::None) {
            request_merge_bio(request, bio, kind, limits);
            bio.device->stats().merged(stat_group(bio.op));
            return true;
        }
    }
    return false;
}

void Plug::add(Request& request)
{
    m_requests.push_back(request);
    if (++m_count >= MAX_PLUGGED)
        flush();
}

void Plug::flush()
{
    if (m_requests.is_empty())
        return;
    // Insert everything, then run each hardware queue once: one batch, one doorbell.
    HwQueue* touched[8];
    u32 touched_count = 0;
    while (Request* request = m_requests.pop_front()) {
        HwQueue* hw = request->hw_queue;
        insert_request(*request);
        bool seen = false;
        for (u32 i = 0; i < touched_count; i++)
            seen |= touched[i] == hw;
        if (!seen) {
            if (touched_count == ARRAY_SIZE(touched)) {
                for (u32 i = 0; i < touched_count; i++)
                    touched[i]->run();
                touched_count = 0;
            }
            touched[touched_count++] = hw;
        }
    }
    m_count = 0;
    for (u32 i = 0; i < touched_count; i++)
        touched[i]->run();
}

void submit_bio(Bio& bio, Plug* plug)
{
    ASSERT(bio.device);
    if (!plug || !plug->is_active())
        plug = current_plug();
    BlockDevice& device = *bio.device;
    bio.status = 0;
    bio.next = nullptr;
    bio.submit_ns = clock_ns();

    // A device being removed takes no new I/O (DeviceRemoval.h). The
    // reference covers this call; each request takes its own.
    if (!device.try_enter()) {
        bio_endio(bio, ENODEV);
        return;
    }
    struct UsageExit {
        BlockDevice& device;
        ~UsageExit() { device.exit(); }
    } usage_exit {device};

    int error = validate_bio(bio, device.limits(), device.capacity_sectors());
    if (!error && bio.op == BioOp::Write && device.read_only())
        error = EROFS;
    if (error) {
        bio_endio(bio, error);
        return;
    }
    // Without a volatile write cache there is nothing to flush.
    if (bio.op == BioOp::Flush && !device.limits().write_cache) {
        bio_endio(bio, 0);
        return;
    }

    // Split what does not fit one request; the children share bio's vector
    // and bio ends when its own rest and all children have ended.
    while (bio.op != BioOp::Flush) {
        const u32 bytes = split_point_bytes(bio, device.limits());
        if (bytes == bio.size_bytes())
            break;
        Bio* child = bytes ? alloc_child_bio() : nullptr;
        if (!child) {
            bio_endio(bio, bytes ? ENOMEM : EINVAL);
            return;
        }
        child->device = bio.device;
        child->op = bio.op;
        child->flags = bio.flags;
        child->vecs = bio.vecs;
        child->vec_count = bio.vec_count;
        child->iter = bio.iter;
        child->iter.size_bytes = bytes;
        child->end_io = child_end_io;
        child->parent = &bio;
        child->submit_ns = bio.submit_ns;
        // +1 for the parent's own remainder the first time.
        if (bio.pending_children == 0)
            __atomic_store_n(&bio.pending_children, 2u, __ATOMIC_RELAXED);
        else
            __atomic_fetch_add(&bio.pending_children, 1, __ATOMIC_RELAXED);
        bio_iter_advance(bio.iter, bio.vecs, bytes);
        submit_one(*child, plug);
    }
    submit_one(bio, plug);
}

// --- waiting -----------------------------------------------------------------------------

namespace {

void complete_waiter(Bio& bio) { static_cast<Completion*>(bio.private_data)->complete(); }

} // namespace

namespace {

u32 poll_every_queue(BlockDevice& device)
{
    TagSet& set = device.tag_set();
    u32 reaped = 0;
    for (u32 q = 0; q < set.hw_queue_count(); q++)
        if (set.hw_queue(q).is_poll())
            reaped += set.driver().poll(set.hw_queue(q));
    return reaped;
}

} // namespace

int submit_bio_wait(Bio& bio)
{
    Completion done;
    Bio::EndIo saved_end_io = bio.end_io;
    void* saved_private = bio.private_data;
    bio.end_io = complete_waiter;
    bio.private_data = &done;
    BlockDevice& device = *bio.device;
    const bool polled = bio.flags & BIO_POLLED;
    submit_bio(bio);
    // A plugged bio would never be sent while we poll (only sleeping flushes).
    if (Plug* plug = current_plug())
        plug->flush();
    if (polled) {
        // Polled queues have no interrupt: reap until our bio has ended.
        // (Overdue requests are the timeout timer's business, TagSet.h.)
        // This CPU's polled queue first; the bio went to the queue of the
        // CPU we were on when it was submitted (or split), which may differ
        // now, so an empty poll here tries every polled queue.
        while (!done.try_wait())
            if (!poll(device, current_cpu_index()) && !poll_every_queue(device))
                sched::yield();
    } else {
        done.wait();
    }
    bio.end_io = saved_end_io;
    bio.private_data = saved_private;
    return bio.status;
}

u32 poll(BlockDevice& device, u32 cpu)
{
    TagSet& set = device.tag_set();
    HwQueue& hw = set.hw_queue_for_cpu(cpu, true);
    return set.driver().poll(hw);
}

} // namespace block
