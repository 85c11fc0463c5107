// The completion side of a ring: posting CQEs (any context, interrupts
// included: no allocation, no sleeping), the overflow list that keeps every
// CQE when the CQ is full (IORING_FEAT_NODROP), the continuation of link
// chains, the release of drained requests, waiting for CQEs, and the reaping
// of completed requests in thread context.
#include "fs/pagecache/PageState.h"
#include "fs/vfs/FileApi.h"
#include "kernel/io_uring/Ring.h"
#include "kernel/mm/AddressSpace.h"
#include "kernel/mm/Heap.h"
#include "kernel/proc/Current.h"
#include "kernel/proc/Process.h"
#include "kernel/sched/Thread.h"

namespace io_uring {
namespace {

// A fatal signal, or a signal to handle: the wait ends with EINTR.
bool interrupted()
{
    proc::Task* task = proc::current_task();
    return task && (task->kill_pending.load(MemoryOrder::Acquire) || current_thread()->signal_pending());
}

// A request whose result breaks its link chain (Linux's REQ_F_FAIL): an
// error, or an rw that moved fewer bytes than asked.
bool failed(const Request& request)
{
    return request.result < 0 || (request.expected >= 0 && request.result != request.expected);
}

} // namespace

u32 Ring::cq_ready() const
{
    const u32 tail = AtomicRef(header().cq_tail).load(MemoryOrder::Relaxed);
    const u32 head = AtomicRef(header().cq_head).load(MemoryOrder::Acquire);
    return tail - head;
}

bool Ring::post_cqe_locked(CompletionState& state, u64 user_data, i32 result, u32 flags)
{
    const u32 head = AtomicRef(header().cq_head).load(MemoryOrder::Acquire);
    if (state.cached_cq_tail - head >= m_sizes.cq_entries)
        return false;
    uapi::io_uring_cqe& cqe = cqe_at(state.cached_cq_tail & (m_sizes.cq_entries - 1));
    cqe.user_data = user_data;
    cqe.res = result;
    cqe.flags = flags;
    state.cached_cq_tail++;
    // Release: the entry is visible before the tail that covers it.
    AtomicRef(header().cq_tail).store(state.cached_cq_tail, MemoryOrder::Release);
    return true;
}

void Ring::flush_overflow_locked(CompletionState& state)
{
    while (Request* request = state.overflow.first()) {
        if (!post_cqe_locked(state, request->user_data, request->result, request->cqe_flags))
            return;
        RequestList::remove(*request);
        state.reap.push_back(*request);
    }
    AtomicRef(header().sq_flags).fetch_and(~IORING_SQ_CQ_OVERFLOW, MemoryOrder::Release);
}

void Ring::finish_locked(CompletionState& state, Request& request)
{
    request.state = RequestState::Completed;
    state.completed++;
    const bool skip = (request.sqe_flags & IOSQE_CQE_SKIP_SUCCESS) && !failed(request);
    // Behind an overflow, a CQE waits its turn: CQEs stay in completion order.
    if (!skip && (!state.overflow.is_empty()
                  || !post_cqe_locked(state, request.user_data, request.result, request.cqe_flags))) {
        state.overflow.push_back(request);
        AtomicRef(header().sq_flags).fetch_or(IORING_SQ_CQ_OVERFLOW, MemoryOrder::Release);
        return;
    }
    state.reap.push_back(request);
}

void Ring::release_deferred_locked(CompletionState& state)
{
    while (Request* request = state.deferred.first()) {
        if ((request->sqe_flags & IOSQE_IO_DRAIN) && state.completed < request->sequence)
            return;
        RequestList::remove(*request);
        request->state = RequestState::Queued;
        m_work.queue(*request);
    }
}

void Ring::complete(Request& request, i32 result)
{
    request.result = result;
    m_completion.with([&](CompletionState& state) {
        finish_locked(state, request);
        Request* next = request.link;
        request.link = nullptr;
        // IOSQE_IO_LINK: a failure cancels the rest of the chain;
        // IOSQE_IO_HARDLINK keeps it going whatever the result.
        if (next && failed(request) && !(request.sqe_flags & IOSQE_IO_HARDLINK)) {
            while (next) {
                Request* after = next->link;
                next->link = nullptr;
                next->result = -ECANCELED;
                finish_locked(state, *next);
                next = after;
            }
        }
        if (next) {
            next->state = RequestState::Queued;
            m_work.queue(*next);
        }
        release_deferred_locked(state);
        m_cq_wait.wake_all();
        m_idle_wait.wake_all();
    });
}

void Ring::cancel_request(Request& request) { complete(request, -ECANCELED); }

void Ring::release_request(Request& request)
{
    if (request.file)
        (void)vfs::close(request.file);
    if (request.opcode != IORING_OP_FSYNC && request.opcode != IORING_OP_NOP) {
        RwState& rw = request.rw;
        if (request.flags & REQ_FIXED_BUFFER)
            m_fixed_buffer_users.fetch_sub(1, MemoryOrder::AcqRel);
        else if (rw.pinned) {
            mm::AddressSpace::unpin_user_pages(rw.pinned, rw.pinned_count);
            kfree(rw.pinned);
        }
        kfree(rw.pieces);
        kfree(rw.iov);
        while (ParkedWait* wait = rw.waits) {
            rw.waits = wait->next;
            if (wait->waiter.page)
                pagecache::put_page(*wait->waiter.page);
            delete wait;
        }
    }
    delete &request;
    m_requests_alive.fetch_sub(1, MemoryOrder::AcqRel);
}

void Ring::reap()
{
    RequestList done;
    m_completion.with([&](CompletionState& state) { done.splice_back(state.reap); });
    bool any = false;
    while (Request* request = done.pop_front()) {
        release_request(*request);
        any = true;
    }
    if (any)
        m_idle_wait.wake_all();
}

Result<void> Ring::wait_for_completions(u32 min_complete, u64 timeout_ns, bool has_timeout)
{
    min_complete = min(min_complete, m_sizes.cq_entries);
    auto ready = [&] {
        m_completion.with([&](CompletionState& state) { flush_overflow_locked(state); });
        return cq_ready() >= min_complete || interrupted();
    };
    bool satisfied;
    if (has_timeout)
        satisfied = wait_event_timeout(m_cq_wait, ready, timeout_ns);
    else {
        wait_event(m_cq_wait, ready);
        satisfied = true;
    }
    if (interrupted() && cq_ready() < min_complete)
        return Error::from_errno(EINTR);
    // Linux: a timeout with some CQEs ready (fewer than asked) is not an error.
    if (!satisfied && cq_ready() == 0)
        return Error::from_errno(ETIME);
    return {};
}

} // namespace io_uring
