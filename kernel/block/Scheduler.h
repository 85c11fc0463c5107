// An I/O scheduler orders the requests of one hardware queue before they
// reach the driver. The hardware queue's lock is held around every call;
// schedulers never allocate (requests are linked through their own nodes).
//
//   none        : first in, first out (Linux "none").
//   mq-deadline : sector order in batches, with a deadline per request so
//                 nothing starves, reads preferred over writes
//                 (kernel/block/DeadlineScheduler.h).
#pragma once

#include "kernel/block/Request.h"
#include "kernel/lib/IntrusiveList.h"
#include "kernel/lib/Types.h"

namespace block {

enum class SchedulerKind : u8 { None, MqDeadline };

class Scheduler {
public:
    virtual const char* name() const = 0;
    // A new request (state Queued from now on).
    virtual void insert(Request& request, u64 now_ns) = 0;
    // A request the driver could not take (device busy): it goes first next time.
    virtual void requeue(Request& request) = 0;
    // The next request to issue, removed from the scheduler, or nullptr.
    virtual Request* dispatch(u64 now_ns) = 0;
    virtual bool has_work() const = 0;

protected:
    ~Scheduler() = default;
};

using RequestList = IntrusiveList<Request, &Request::queue_node>;

class NoneScheduler final : public Scheduler {
public:
    const char* name() const override { return "none"; }
    void insert(Request& request, u64) override { m_fifo.push_back(request); }
    void requeue(Request& request) override { m_fifo.push_front(request); }
    Request* dispatch(u64) override { return m_fifo.pop_front(); }
    bool has_work() const override { return !m_fifo.is_empty(); }

private:
    RequestList m_fifo;
};

} // namespace block
