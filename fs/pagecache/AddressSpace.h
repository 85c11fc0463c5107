// An address space: the cached pages of one file (or of one block device),
// indexed by page number in a RadixTree whose DIRTY/WRITEBACK tags find the
// pages writeback wants without a scan. Page states: fs/pagecache/PageState.h.
//
// Where the bytes live on the device is the filesystem's business, asked
// through AddressSpaceOperations::map_page; the page cache builds the bios.
// An address space without a device (ramfs, procfs) keeps its pages in memory
// only: they are created zeroed and up to date and are never written back.
#pragma once

#include "fs/pagecache/Readahead.h"
#include "kernel/lib/RadixTree.h"
#include "kernel/lib/Result.h"
#include "kernel/mm/Page.h"
#include "kernel/sync/SpinLock.h"

namespace block {
class BlockDevice;
}

// Device blocks behind one page: `count` blocks of `block_size` bytes, in
// file order; HOLE means none (reads as zeros, never written).
struct PageMap {
    static constexpr u32 MAX_BLOCKS = PAGE_SIZE / 512;
    static constexpr u64 HOLE = ~0ul;
    u32 block_size = PAGE_SIZE;
    u32 count = 0;
    u64 blocks[MAX_BLOCKS] = {};
};

struct AddressSpace;

struct AddressSpaceOperations {
    // Fill `map` for page `index`. With `allocate`, holes among the blocks
    // overlapping bytes [allocate_from, allocate_to) of the page get blocks
    // (a write there); the rest stays as it is.
    Result<void> (*map_page)(AddressSpace& space, u64 index, bool allocate, u32 allocate_from, u32 allocate_to,
                             PageMap& map);
};

struct AddressSpace {
    AddressSpace(block::BlockDevice* device, const AddressSpaceOperations* operations);
    ~AddressSpace();
    AddressSpace(const AddressSpace&) = delete;
    AddressSpace& operator=(const AddressSpace&) = delete;

    block::BlockDevice* device;           // null: memory only
    const AddressSpaceOperations* ops;
    void* host = nullptr;                 // the owning inode
    // A block device's own space tracks dirtiness per 512-byte sector in
    // page->private_data, so that metadata blocks smaller than a page can be
    // written (or forgotten) one by one.
    bool sector_dirty_tracking = false;

    SpinLock lock{LockRank::Generic, "address space"};
    RadixTree pages;                      // under `lock`
    u64 page_count = 0;                   // under `lock`
    u64 dirty_pages = 0;                  // under `lock`
    int writeback_error = 0;              // sticky until fsync reports it (under `lock`)
    ListNode dirty_link;                  // on the writeback list while dirty
};

namespace pagecache {

// Pages in all address spaces, for /proc/meminfo and the thresholds.
struct Counters {
    u64 cached;
    u64 dirty;
    u64 writeback;
};
Counters counters();

// The page at `index` with a reference, or null.
Page* find_page(AddressSpace& space, u64 index);
// The page at `index`, locked, with a reference; created (not up to date,
// or zeroed and up to date for a memory-only space) when missing.
Result<Page*> find_or_create_locked(AddressSpace& space, u64 index);

// An up-to-date page (with a reference): from the cache, or read now. `ra`
// (may be null) drives readahead around it; `file_pages`: pages before EOF.
Result<Page*> read_page(AddressSpace& space, u64 index, ReadaheadState* ra, u64 request_pages, u64 file_pages);

// Buffered read and write of a file of `file_size` bytes. write() extends
// `file_size` (the caller stores it in its inode) and dirties pages.
Result<usize> read(AddressSpace& space, u64 file_size, ReadaheadState& ra, u64 offset, void* buffer, usize length);
Result<usize> write(AddressSpace& space, u64& file_size, u64 offset, const void* buffer, usize length);

// Mark bytes [offset, offset + length) of a locked or referenced page dirty.
void mark_dirty(AddressSpace& space, Page* page, u32 offset = 0, u32 length = PAGE_SIZE);
// Forget that sectors of a block device page are dirty (a block reused for
// file data must not be overwritten later by a stale metadata copy).
void forget_dirty(AddressSpace& space, u64 byte_offset, u32 length);

// Write dirty pages in [first, last] to the device. With `wait`, also wait for
// every page under writeback there and report (and clear) a write error.
Result<void> write_back(AddressSpace& space, bool wait, u64 first = 0, u64 last = ~0ul);
// A device cache flush (REQ_PREFLUSH) of `space`'s device, if it has one.
Result<void> flush_device(AddressSpace& space);

// Write back, wait for and drop the pages of bytes [first, last] (O_DIRECT
// keeps the cache coherent this way, as Linux does).
Result<void> invalidate_range(AddressSpace& space, u64 first_byte, u64 last_byte);

// Drop pages from byte `from` on (waiting for their I/O); the page holding
// `from` keeps its head and has the rest zeroed.
void truncate(AddressSpace& space, u64 from);

// Start the writeback thread (periodic + background threshold).
void init();
// Throttle a writer while dirty pages are above the hard threshold.
void balance_dirty_pages(AddressSpace& space);

struct Thresholds {
    u64 background_pages; // the writeback thread starts above this
    u64 hard_pages;       // writers wait above this
};
Thresholds thresholds();
void set_thresholds(u64 background_pages, u64 hard_pages);

} // namespace pagecache
