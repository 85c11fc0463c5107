// The prep/issue functions of each opcode family (the table is OpDefs.cpp).
#pragma once

#include "kernel/io_uring/Ring.h"

namespace io_uring::ops {

// Nop.cpp
Result<void> nop_prep(Request& request, const uapi::io_uring_sqe& sqe);
IssueResult nop_issue(Request& request, u32 issue_flags);

// ReadWrite.cpp: READ, WRITE, READV, WRITEV, READ_FIXED, WRITE_FIXED
Result<void> rw_prep(Request& request, const uapi::io_uring_sqe& sqe);
IssueResult rw_issue(Request& request, u32 issue_flags);

// Sync.cpp: FSYNC
Result<void> fsync_prep(Request& request, const uapi::io_uring_sqe& sqe);
IssueResult fsync_issue(Request& request, u32 issue_flags);

} // namespace io_uring::ops
