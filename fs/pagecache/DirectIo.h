// O_DIRECT: reads and writes between the caller's memory and the device,
// bypassing the cache but coherent with it (Linux's iomap direct I/O rules):
//   - the buffer address, the file offset and the length must be multiples of
//     the device's logical block size, else EINVAL;
//   - dirty cached pages overlapping the range are written back first (a
//     direct read must see them, a direct write must not be overtaken by them);
//   - a direct write then invalidates the overlapping cached pages, so that a
//     later buffered read fetches what was written.
// Bios are built straight on the caller's pages (the buffer must be kernel
// memory: the direct map or the kernel image); blk-mq splits them to the
// device's limits. A read stops at the end of the file; holes read as zeros.
#pragma once

#include "fs/pagecache/Mapping.h"
#include "kernel/block/Bio.h"

namespace pagecache {

Result<usize> direct_read(Mapping& space, u64 pos, void* buffer, usize length);
Result<usize> direct_write(Mapping& space, u64 pos, const void* buffer, usize length);

// Asynchronous form (io_uring): validates, writes back and invalidates the
// cached range (may sleep), submits the bios and returns; `done(context,
// result)` then runs exactly once, possibly from the completion interrupt
// and possibly before this returns, with the bytes transferred or -errno.
// An error returned here means nothing was submitted and `done` never runs.
using DirectIoDone = void (*)(void* context, i64 result);
Result<void> submit_direct_io(Mapping& space, block::BioOp op, u64 pos, void* buffer, usize length,
                              DirectIoDone done, void* context);

// The alignment rule alone (for callers that check before queueing).
bool direct_io_aligned(const Mapping& space, u64 pos, const void* buffer, usize length);

} // namespace pagecache
