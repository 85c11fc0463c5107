// The opcode table (Linux's io_issue_defs): for each IORING_OP_*, whether it
// works on Sluice, what its SQE needs, and its prep/issue pair.
//
//   prep(request, sqe)   in io_uring_enter, from the SQE copy: read and check
//                        the fields, import what lives in user memory (iovec
//                        arrays, pinned pages). An error here fails the SQE at
//                        submission (its CQE carries it; the submission stops
//                        there unless IORING_SETUP_SUBMIT_ALL).
//   issue(request, flags) start or do the operation. ISSUE_NONBLOCK (inline
//                        in io_uring_enter) must not block: return Punt and a
//                        worker calls it again with ISSUE_WORKER. The result
//                        goes in request.result for IssueResult::Complete.
//
// An opcode without prep is unsupported: its SQE completes with -EINVAL, and
// IORING_REGISTER_PROBE leaves it unflagged. The issue functions are grouped
// by family in ops/ (Nop.cpp, ReadWrite.cpp, Sync.cpp).
#pragma once

#include "kernel/io_uring/Ring.h"

namespace io_uring {

struct OpDef {
    const char* name;
    bool needs_file;
    bool accepts_ioprio; // sqe->ioprio may be non-zero
    Result<void> (*prep)(Request& request, const uapi::io_uring_sqe& sqe);
    IssueResult (*issue)(Request& request, u32 issue_flags);
};

// The entry of `opcode` (< IORING_OP_LAST).
const OpDef& op_def(u8 opcode);
bool op_supported(u8 opcode);

} // namespace io_uring
