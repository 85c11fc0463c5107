// O_DIRECT: reads and writes between the caller's memory and the device,
// bypassing the cache but coherent with it (Linux's iomap direct I/O rules):
//   - the buffer address, the file offset and the length must be multiples of
//     the device's logical block size, else EINVAL;
//   - dirty cached pages overlapping the range are written back first (a
//     direct read must see them, a direct write must not be overtaken by them);
//   - a direct write then invalidates the overlapping cached pages, so that a
//     later buffered read fetches what was written.
// Bios are built straight on the buffer's pages (kernel memory — the direct
// map or the kernel image — or an IoIter of pinned pages); blk-mq splits them
// to the device's limits. User memory goes through a kernel bounce buffer
// (64 KiB at a time) until user pages can be pinned. A read stops at the end
// of the file; holes read as zeros. The buffer is advanced by the bytes
// transferred.
#pragma once

#include "fs/pagecache/Mapping.h"
#include "kernel/block/Bio.h"
#include "kernel/mm/IoIter.h"

namespace pagecache {

Result<usize> direct_read(Mapping& space, u64 pos, mm::IoIter& buffer);
Result<usize> direct_write(Mapping& space, u64 pos, mm::IoIter& buffer);

inline Result<usize> direct_read(Mapping& space, u64 pos, void* buffer, usize length)
{
    mm::IoIter iter = mm::IoIter::kernel(buffer, length);
    return direct_read(space, pos, iter);
}
inline Result<usize> direct_write(Mapping& space, u64 pos, const void* buffer, usize length)
{
    mm::IoIter iter = mm::IoIter::kernel(buffer, length);
    return direct_write(space, pos, iter);
}

// Asynchronous form (io_uring): validates, writes back and invalidates the
// cached range (may sleep), submits the bios and returns; `done(context,
// result)` then runs exactly once, possibly from the completion interrupt
// and possibly before this returns, with the bytes transferred or -errno.
// An error returned here means nothing was submitted and `done` never runs.
// `buffer` must be kernel memory or pages (EINVAL for user memory: pin it);
// it is advanced past what was submitted, and its memory must stay valid
// until `done` runs.
using DirectIoDone = void (*)(void* context, i64 result);
Result<void> submit_direct_io(Mapping& space, block::BioOp op, u64 pos, mm::IoIter& buffer, DirectIoDone done,
                              void* context);
inline Result<void> submit_direct_io(Mapping& space, block::BioOp op, u64 pos, void* buffer, usize length,
                                     DirectIoDone done, void* context)
{
    mm::IoIter iter = mm::IoIter::kernel(buffer, length);
    return submit_direct_io(space, op, pos, iter, done, context);
}

// The alignment rule alone (for callers that check before queueing): the
// offset, the length and every segment's address and length are multiples
// of the device's logical block size.
bool direct_io_aligned(const Mapping& space, u64 pos, const mm::IoIter& buffer);
inline bool direct_io_aligned(const Mapping& space, u64 pos, const void* buffer, usize length)
{
    return direct_io_aligned(space, pos, mm::IoIter::kernel(buffer, length));
}

} // namespace pagecache
