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

#include "fs/pagecache/AddressSpace.h"
#include "kernel/block/Bio.h"

namespace pagecache {

Result<usize> direct_read(AddressSpace& space, u64 pos, void* buffer, usize length);
Result<usize> direct_write(AddressSpace& space, u64 pos, const void* buffer, usize length);

// The alignment rule alone (for callers that check before queueing).
bool direct_io_aligned(const AddressSpace& space, u64 pos, const void* buffer, usize length);

} // namespace pagecache
