// The submission side of a ring: SQEs off the SQ ring, into requests, checked
// by the opcode table's prep, chained (IOSQE_IO_LINK / IO_HARDLINK), held
// back (IOSQE_IO_DRAIN), and issued — inline when the operation can start
// without blocking, on the worker pool otherwise. All the bios one
// io_uring_enter submits share one plug: one dispatch, one doorbell.
#include "fs/vfs/FileApi.h"
#include "kernel/block/Plug.h"
#include "kernel/io_uring/OpDefs.h"
#include "kernel/lib/String.h"

namespace io_uring {
namespace {

constexpr u8 SQE_VALID_FLAGS = IOSQE_FIXED_FILE | IOSQE_IO_DRAIN | IOSQE_IO_LINK | IOSQE_IO_HARDLINK | IOSQE_ASYNC
                               | IOSQE_BUFFER_SELECT | IOSQE_CQE_SKIP_SUCCESS;

} // namespace

Request* Ring::allocate_request()
{
    auto* request = new (nothrow) Request();
    if (!request)
        return nullptr;
    request->ring = this;
    m_requests_alive.fetch_add(1, MemoryOrder::AcqRel);
    return request;
}

// Linux's io_init_req, in its order of checks.
Result<void> Ring::init_request(Request& request, const uapi::io_uring_sqe& sqe)
{
    request.opcode = sqe.opcode;
    request.sqe_flags = sqe.flags;
    request.user_data = sqe.user_data;
    if (sqe.opcode >= IORING_OP_LAST) {
        request.opcode = IORING_OP_NOP;
        return Error::from_errno(EINVAL);
    }
    if (sqe.flags & ~SQE_VALID_FLAGS)
        return Error::from_errno(EINVAL);
    const OpDef& def = op_def(sqe.opcode);
    if (!def.prep) {
        request.opcode = IORING_OP_NOP; // nothing of the SQE is kept
        return Error::from_errno(EINVAL);
    }
    // No provided-buffer groups: no opcode selects a buffer (Linux: EOPNOTSUPP
    // for an opcode that cannot).
    if (sqe.flags & IOSQE_BUFFER_SELECT)
        return Error::from_errno(EOPNOTSUPP);
    // Linux: once a ring has seen CQE_SKIP_SUCCESS, drain is refused
    // (skipped CQEs would make the drain sequence wrong).
    if (sqe.flags & IOSQE_CQE_SKIP_SUCCESS)
        m_drain_disabled = true;
    if ((sqe.flags & IOSQE_IO_DRAIN) && m_drain_disabled)
        return Error::from_errno(EOPNOTSUPP);
    if (!def.accepts_ioprio && sqe.ioprio)
        return Error::from_errno(EINVAL);
    if (sqe.personality) // none can be registered
        return Error::from_errno(EINVAL);
    if (def.needs_file) {
        request.fd = sqe.fd;
        // Looked up now, in the submitter's context (a worker has no fd
        // table); a bad descriptor fails the request, not the submission.
        auto file = lookup_file(sqe.fd, sqe.flags & IOSQE_FIXED_FILE);
        if (file.is_error())
            request.file_error = file.error().code();
        else
            request.file = file.value();
    }
    TRY(def.prep(request, sqe));
    if (request.flags & REQ_FIXED_BUFFER)
        m_fixed_buffer_users.fetch_add(1, MemoryOrder::AcqRel);
    return {};
}

void Ring::issue(Request& request, u32 issue_flags)
{
    if (request.file_error) {
        complete(request, -request.file_error);
        return;
    }
    const OpDef& def = op_def(request.opcode);
    switch (def.issue(request, issue_flags)) {
    case IssueResult::Complete:
        complete(request, request.result);
        return;
    case IssueResult::Async:
        return; // not ours any more: it may be complete already
    case IssueResult::Punt:
        request.state = RequestState::Queued;
        m_work.queue(request);
        m_work.maybe_grow();
        return;
    }
}

void Ring::issue_from_worker(Request& request) { issue(request, ISSUE_WORKER); }

// A complete chain (or a single request) is ready: fail it whole, hold it
// behind a drain, or issue its head.
void Ring::queue_chain(Request& head)
{
    if (head.flags & REQ_LINK_FAILED) {
        // Linux: every member completes, in order; the one whose SQE was bad
        // with its own error, the others with -ECANCELED.
        for (Request* r = &head; r;) {
            Request* next = r->link;
            r->link = nullptr;
            complete(*r, r->result ? r->result : -ECANCELED);
            r = next;
        }
        return;
    }
    const bool deferred = m_completion.with([&](CompletionState& state) {
        const bool drain = head.sqe_flags & IOSQE_IO_DRAIN;
        if (state.deferred.is_empty() && (!drain || state.completed >= head.sequence))
            return false;
        head.state = RequestState::Deferred;
        state.deferred.push_back(head);
        return true;
    });
    if (deferred) {
        m_work.maybe_grow();
        return;
    }
    if (head.sqe_flags & IOSQE_ASYNC) {
        head.state = RequestState::Queued;
        m_work.queue(head);
        m_work.maybe_grow();
        return;
    }
    issue(head, ISSUE_NONBLOCK);
}

u32 Ring::submit(u32 count)
{
    MutexGuard guard(m_submit_lock);
    if (m_dead)
        return 0;
    const u32 tail = AtomicRef(header().sq_tail).load(MemoryOrder::Acquire);
    count = min(count, tail - m_cached_sq_head);
    if (count == 0)
        return 0;
    block::Plug plug;
    Request* link_head = nullptr;
    Request* link_tail = nullptr;
    u32 submitted = 0;
    const u32 mask = m_sizes.sq_entries - 1;
    while (submitted < count) {
        const u32 index = AtomicRef(sq_array_at(m_cached_sq_head & mask)).load(MemoryOrder::Relaxed);
        m_cached_sq_head++;
        if (index >= m_sizes.sq_entries) {
            // Linux: an invalid index is dropped (sq_dropped) and ends the batch.
            AtomicRef(header().sq_dropped).fetch_add(1, MemoryOrder::Relaxed);
            break;
        }
        // One copy: the user may rewrite the SQE while we look at it.
        uapi::io_uring_sqe sqe;
        memcpy(&sqe, &sqe_at(index), sizeof(sqe));
        Request* request = allocate_request();
        if (!request) {
            m_cached_sq_head--;
            break;
        }
        request->sequence = m_submitted++;
        submitted++;
        auto init = init_request(*request, sqe);
        if (init.is_error()) {
            request->result = -init.error().code();
            request->flags |= REQ_LINK_FAILED;
            if (link_head)
                link_head->flags |= REQ_LINK_FAILED;
        }
        if (link_head) {
            link_tail->link = request;
            link_tail = request;
            if (!request->has_link_flag()) {
                queue_chain(*link_head);
                link_head = link_tail = nullptr;
            }
        } else if (request->has_link_flag()) {
            link_head = link_tail = request;
        } else {
            queue_chain(*request);
        }
        // A bad SQE ends the submission (unless SUBMIT_ALL) once it does not
        // leave a chain half built, as Linux's io_submit_fail_init.
        if (init.is_error() && !link_head && !(m_setup_flags & IORING_SETUP_SUBMIT_ALL))
            break;
    }
    // Linux submits a chain whose last SQE has not come yet as it is.
    if (link_head)
        queue_chain(*link_head);
    AtomicRef(header().sq_head).store(m_cached_sq_head, MemoryOrder::Release);
    m_work.maybe_grow();
    return submitted;
}

} // namespace io_uring
