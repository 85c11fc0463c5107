// blk-mq: from submit_bio to the driver and back. See BlkMq.h for the path.
#include "kernel/block/BlkMq.h"

#include "arch/x86_64/Cpu.h"
#include "arch/x86_64/PerCpu.h"
#include "kernel/debug/Panic.h"
#include "kernel/lib/Atomic.h"
#include "kernel/log/Log.h"
#include "kernel/mm/Heap.h"
#include "kernel/sched/Scheduler.h"
#include "kernel/sched/Thread.h"
#include "kernel/sync/Completion.h"
#include "kernel/time/Clock.h"

namespace block {

namespace {

Atomic<mm::SlabCache*> g_bio_cache;

// The first error wins; later ones (from other split children) are dropped.
void record_status(Bio& bio, int status)
{
    if (status == 0)
        return;
    int expected = 0;
    AtomicRef(bio.status).compare_exchange_strong(expected, status, MemoryOrder::Relaxed, MemoryOrder::Relaxed);
}

// The cache of split children, created on first use. CPUs splitting their
// first bios at once may each create one: only the first published is ever
// used (a child freed into another cache than it came from is a panic), the
// loser's empty cache is left unused (there is no destroy).
mm::SlabCache* bio_cache()
{
    mm::SlabCache* cache = g_bio_cache.load(MemoryOrder::Acquire);
    if (cache)
        return cache;
    mm::SlabCache* created = mm::slab_cache_create("bio", sizeof(Bio), alignof(Bio));
    if (!created)
        return nullptr;
    if (g_bio_cache.compare_exchange_strong(cache, created, MemoryOrder::AcqRel, MemoryOrder::Acquire))
        return created;
    return cache;
}

Bio* alloc_child_bio()
{
    mm::SlabCache* cache = bio_cache();
    void* memory = cache ? mm::slab_alloc(cache) : nullptr;
    return memory ? new (memory) Bio() : nullptr;
}

void free_child_bio(Bio& bio) { mm::slab_free(g_bio_cache.load(MemoryOrder::Acquire), &bio); }

void child_end_io(Bio&) { }

} // namespace

void bio_endio(Bio& bio, int status)
{
    record_status(bio, status);
    // A split parent ends when its own part and every child have ended.
    if (bio.pending_children.load(MemoryOrder::Relaxed) && bio.pending_children.sub_fetch(1, MemoryOrder::AcqRel) != 0)
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
    hw.m_completed.fetch_add(1, MemoryOrder::SeqCst);
    if (hw.m_restart.load(MemoryOrder::SeqCst) && hw.m_restart.exchange(false, MemoryOrder::AcqRel))
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
    hw.insert(*request);
    hw.run();
}

} // namespace

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
        if (bio.pending_children.load(MemoryOrder::Relaxed) == 0)
            bio.pending_children.store(2u, MemoryOrder::Relaxed);
        else
            bio.pending_children.fetch_add(1, MemoryOrder::Relaxed);
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
