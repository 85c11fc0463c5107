// The page cache as filesystems and the VFS use it: buffered reads and
// writes, single pages for metadata, truncation, and setup.
//
// The path of a buffered read (BufferedRead.cpp):
//   buffered_read -> Mapping::find_get_page
//     miss: ReadaheadState::on_miss (Readahead.cpp) -> readahead(): allocate the
//           missing pages of the window, insert them Reading (locked), hand
//           runs to ops.read_pages -> generic_read_pages (PageIo.cpp) builds
//           one bio per contiguous run -> block::submit_bio (asynchronous)
//     hit on the trigger page (PAGE_READAHEAD): on_marked_hit -> readahead()
//           of the next window, without waiting for it
//   -> wait_on_page_locked (PageWait.cpp) until the completion (interrupt:
//      page_bio_end_io -> end_page_read) marks it UpToDate and unlocks
//   -> copy out, mark_page_accessed (Reclaim.cpp), put_page.
//
// The path of a buffered write (BufferedWrite.cpp):
//   buffered_write -> ops.prepare_write (block allocation, ENOSPC)
//   -> per page: grab it locked; a partial write of a page that is not up to
//      date reads it first (read-modify-write) unless it lies past EOF (zeroed)
//   -> copy in, Mapping::set_page_dirty (tag, count, queue the space on
//      its device's Writeback), unlock
//   -> balance_dirty_pages (Writeback.cpp): kick the wb thread above the
//      background threshold, sleep above the hard one.
//   Later: wb-<device> thread -> write_dirty_pages -> clear_dirty_for_io
//   (Dirty -> Writeback) -> ops.write_pages -> generic_write_pages -> bios ->
//   completion: end_page_writeback (clean, wake waiters and throttled writers).
#pragma once

#include "fs/pagecache/Mapping.h"
#include "fs/pagecache/Readahead.h"
#include "kernel/mm/IoIter.h"

namespace pagecache {

// Boot: the bio reserve, LRU watermarks and kreclaimd.
void init();

// buffered_read flags.
enum ReadFlags : u32 {
    // Never wait for I/O (Linux's IOCB_NOWAIT): copy what is cached and up to
    // date; at the first page that is not, start its readahead and stop with
    // what was copied, or EAGAIN if that is nothing.
    READ_NOWAIT = 1u << 0,
};

// Read up to buffer.count() bytes at `pos` into `buffer` (stops at the end of
// the file), advancing it by the bytes read. `ra` is the open file's
// readahead state (null: no readahead, only what is asked). A user buffer
// that faults part-way gives the short count, EFAULT when nothing was copied.
Result<usize> buffered_read(Mapping& space, ReadaheadState* ra, u64 pos, mm::IoIter& buffer, u32 flags = 0);

// Write buffer.count() bytes at `pos` from `buffer`, advancing it by the
// bytes written; extends size_bytes when writing past it. May sleep (reads
// for partial pages, throttling). Returns the bytes written: short when an
// error or a user-memory fault stopped it after some progress (EFAULT when a
// fault stopped it before any).
Result<usize> buffered_write(Mapping& space, u64 pos, mm::IoIter& buffer);

// Kernel-memory conveniences of the two.
inline Result<usize> buffered_read(Mapping& space, ReadaheadState* ra, u64 pos, void* buffer, usize length)
{
    mm::IoIter iter = mm::IoIter::kernel(buffer, length);
    return buffered_read(space, ra, pos, iter);
}
inline Result<usize> buffered_write(Mapping& space, u64 pos, const void* buffer, usize length)
{
    mm::IoIter iter = mm::IoIter::kernel(buffer, length);
    return buffered_write(space, pos, iter);
}

// Start reading pages [start, start + count) that are not cached, without
// waiting; `trigger` gets the readahead mark (ReadaheadRequest::NO_TRIGGER: none).
void readahead(Mapping& space, u64 start, u64 count, u64 trigger = ReadaheadRequest::NO_TRIGGER);

// The page at `index`, up to date, referenced (put_page when done): metadata
// blocks through a block device's space.
Result<Page*> read_cache_page(Mapping& space, u64 index);
// The page at `index`, locked and referenced, not necessarily up to date (for
// callers that overwrite it whole): unlock_page + put_page when done.
Result<Page*> grab_cache_page(Mapping& space, u64 index);

// The file shrank (or grew) to `new_size`: set it, zero the tail of the last
// page, drop every page past it (dirty ones too), waiting for their I/O.
void truncate_pages(Mapping& space, u64 new_size);
// Drop the clean, unused cached pages of [start_byte, end_byte]; pages in use
// lose UPTODATE so the next read fetches them again (direct I/O coherence).
void invalidate_range(Mapping& space, u64 start_byte, u64 end_byte);

} // namespace pagecache
