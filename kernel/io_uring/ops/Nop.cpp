// IORING_OP_NOP: completes with 0 and touches nothing (the ring's own cost).
#include "kernel/io_uring/ops/Ops.h"

namespace io_uring::ops {

Result<void> nop_prep(Request&, const uapi::io_uring_sqe&) { return {}; }

IssueResult nop_issue(Request& request, u32)
{
    request.result = 0;
    return IssueResult::Complete;
}

} // namespace io_uring::ops
