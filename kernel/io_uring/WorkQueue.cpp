#include "kernel/io_uring/WorkQueue.h"

#include "kernel/io_uring/Ring.h"
#include "kernel/debug/Panic.h"
#include "kernel/lib/Format.h"
#include "kernel/log/Log.h"
#include "kernel/sched/Thread.h"

namespace io_uring {

WorkQueue::~WorkQueue() { ASSERT(worker_count() == 0); }

void WorkQueue::queue(Request& request)
{
    m_pending.with([&](Pending& pending) { pending.requests.push_back(request); });
    // After the lock: the wake takes a wait-queue lock, which ranks below.
    m_work_wait.wake_one();
}

void WorkQueue::maybe_grow()
{
    u32 slot = MAX_WORKERS;
    m_pending.with([&](Pending& pending) {
        // The first worker is always started: work queued later from an
        // interrupt (a link's successor, a page that arrived) needs one.
        const bool wanted = !pending.stopping
                            && ((!pending.requests.is_empty() && pending.idle == 0) || pending.started == 0);
        if (wanted && pending.started < MAX_WORKERS)
            slot = pending.started++;
    });
    if (slot == MAX_WORKERS)
        return;
    char name[Thread::NAME_CAPACITY];
    format_string(name, sizeof(name), "iou-wrk-%u", slot);
    auto thread = Thread::create(name, [this] { run(); });
    if (thread.is_error()) {
        log_warn("io_uring", "cannot start an io-wq worker: errno %d", thread.error().code());
        return;
    }
    m_workers[slot] = thread.value();
    m_worker_count.fetch_add(1, MemoryOrder::Relaxed);
    thread.value()->start();
}

Request* WorkQueue::take(bool& stop)
{
    Request* request = nullptr;
    stop = false;
    m_pending.with([&](Pending& pending) { pending.idle++; });
    wait_event_exclusive(m_work_wait, [&] {
        return m_pending.with([&](Pending& pending) { return pending.stopping || !pending.requests.is_empty(); });
    });
    m_pending.with([&](Pending& pending) {
        pending.idle--;
        request = pending.requests.pop_front();
        stop = !request && pending.stopping;
    });
    return request;
}

void WorkQueue::run()
{
    for (;;) {
        bool stop;
        Request* request = take(stop);
        if (!request) {
            if (stop)
                return;
            continue;
        }
        m_work_wait.wake_one(); // another idle worker takes the next one, if any
        m_ring.issue_from_worker(*request);
        m_ring.reap();
    }
}

void WorkQueue::cancel_pending()
{
    for (;;) {
        Request* request = m_pending.with([](Pending& pending) { return pending.requests.pop_front(); });
        if (!request)
            return;
        m_ring.complete(*request, -ECANCELED);
    }
}

void WorkQueue::stop()
{
    m_pending.with([](Pending& pending) { pending.stopping = true; });
    m_work_wait.wake_all();
    for (u32 i = 0; i < MAX_WORKERS; i++) {
        if (m_workers[i]) {
            m_workers[i]->join();
            m_workers[i] = nullptr;
            m_worker_count.fetch_sub(1, MemoryOrder::Relaxed);
        }
    }
}

} // namespace io_uring
