// IORING_OP_FSYNC (+ IORING_FSYNC_DATASYNC): always blocks, so it always
// runs on a worker (Linux punts it to io-wq the same way).
#include "fs/vfs/FileApi.h"
#include "kernel/io_uring/ops/Ops.h"

namespace io_uring::ops {

Result<void> fsync_prep(Request& request, const uapi::io_uring_sqe& sqe)
{
    if (sqe.addr || sqe.buf_index || sqe.splice_fd_in)
        return Error::from_errno(EINVAL);
    if (sqe.fsync_flags & ~IORING_FSYNC_DATASYNC)
        return Error::from_errno(EINVAL);
    request.fsync.flags = sqe.fsync_flags;
    return {};
}

IssueResult fsync_issue(Request& request, u32 issue_flags)
{
    if (issue_flags & ISSUE_NONBLOCK)
        return IssueResult::Punt;
    auto synced = (request.fsync.flags & IORING_FSYNC_DATASYNC) ? vfs::fdatasync(*request.file)
                                                                : vfs::fsync(*request.file);
    request.result = synced.is_error() ? -synced.error().code() : 0;
    return IssueResult::Complete;
}

} // namespace io_uring::ops
