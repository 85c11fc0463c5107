// WorkQueue: a ring's small, bounded pool of worker threads (Linux's io-wq)
// for what cannot complete without blocking: fsync, buffered writes, a read
// whose page could not be waited for asynchronously, IOSQE_ASYNC, the
// successors of a link and the requests a drain released. Never a thread
// per SQE: at most MAX_WORKERS threads per ring, started on demand when work
// is queued and every running worker is busy; they live until the ring goes.
//
// queue() may be called from any context (a bio completion interrupt, a page
// waiter's wake function under a wait-queue lock): it links the request and
// wakes an idle worker, and never allocates or sleeps. Starting a new worker
// (which allocates) happens only from thread context, in maybe_grow().
#pragma once

#include "kernel/io_uring/Request.h"
#include "kernel/sync/Guarded.h"
#include "kernel/sync/WaitQueue.h"

class Thread;

namespace io_uring {

class WorkQueue {
public:
    static constexpr u32 MAX_WORKERS = 4;

    explicit WorkQueue(Ring& ring) : m_ring(ring) { }
    ~WorkQueue();
    WorkQueue(const WorkQueue&) = delete;
    WorkQueue& operator=(const WorkQueue&) = delete;

    // Any context.
    void queue(Request& request);
    // The submitter (under the ring's submission lock, so that growth and
    // stop() never race): start a worker if none exists yet, or if work
    // waits and none is idle.
    void maybe_grow();
    // Teardown: complete every request not yet started with -ECANCELED
    // (thread context), then, once nothing is alive, stop the workers.
    void cancel_pending();
    void stop();

    u32 worker_count() const { return m_worker_count.load(MemoryOrder::Relaxed); }

private:
    struct Pending {
        RequestList requests;
        u32 idle = 0;     // workers waiting for work
        u32 started = 0;  // worker slots taken
        bool stopping = false;
    };

    void run();
    Request* take(bool& stop);

    Ring& m_ring;
    Guarded<Pending> m_pending{ LockRank::IoUringWork, "io-wq pending" };
    WaitQueue m_work_wait;
    Thread* m_workers[MAX_WORKERS] = {};
    Atomic<u32> m_worker_count;
};

} // namespace io_uring
