// pagecache::Mapping: the page cache of one file (or of one block device): its
// pages by index in a radix tree, with DIRTY / WRITEBACK / TOWRITE tags, and
// the operations through which its owner maps pages to device sectors.
//
// An inode (fs/vfs) owns one; a block device's is made by
// fs/pagecache/BlockDeviceMapping.h. The owner keeps `size_bytes` equal to its
// file size and must call release() before destroying the space (it drops
// every page, dirty ones included, and detaches from writeback).
//
// Locks: the tree lock (LockRank::PageCache, a spinlock: write completions
// clear tags from interrupts) guards the tree and the page <-> space link;
// page contents and state changes are serialised by the page lock
// (PageWait.h). Lock order: page lock -> tree lock -> LRU lock.
#pragma once

#include "fs/pagecache/PageState.h"
#include "kernel/lib/Atomic.h"
#include "kernel/lib/IntrusiveList.h"
#include "kernel/lib/RadixTree.h"
#include "kernel/lib/Result.h"
#include "kernel/sync/Guarded.h"
#include "kernel/sync/WaitQueue.h"

namespace block {
class BlockDevice;
}

namespace pagecache {

class Writeback;
class PageBatch;
struct Mapping;
void end_page_writeback(Page& page, int error);

// Where a run of file blocks lives on the device.
struct BlockMapping {
    static constexpr u64 HOLE = ~0ul;

    u64 sector = HOLE; // 512-byte device sector of the first block, or HOLE
    u64 blocks = 0;    // >= 1: this many blocks from the asked one are contiguous
                       // on the device (or all holes)

    bool is_hole() const { return sector == HOLE; }
};

// What a filesystem (or the block-device space) provides, as Linux's
// address_space_operations. Only map_blocks is required: the generic
// read_pages / write_pages build bios from it. Called without any page-cache
// spinlock held and may sleep (not from the completion path).
class MappingOperations {
public:
    // Map file block `block` (in units of the space's block size) to the
    // device; look at no more than `max_blocks` blocks. `create`: allocate
    // blocks for a hole (writeback and direct writes; ENOSPC). Blocks past the
    // end of the file may be reported as holes.
    virtual Result<BlockMapping> map_blocks(Mapping& space, u64 block, u64 max_blocks, bool create) = 0;

    // Read `pages` (locked, in the tree, not up to date, ascending indices).
    // Each page must end through end_page_read() exactly once, possibly
    // later from an interrupt. Default: generic bios from map_blocks.
    virtual void read_pages(Mapping& space, PageBatch& pages);

    // Write `pages` (in Writeback state, ascending indices). Each page must
    // end through end_page_writeback() exactly once. Default: generic bios
    // from map_blocks(create = true).
    virtual void write_pages(Mapping& space, PageBatch& pages);

    // A buffered write is about to change [pos, pos + length): reserve or
    // allocate blocks now so that ENOSPC reaches write() and is not lost at
    // writeback. Returns how many bytes from `pos` are ready: fewer than
    // `length` when the filesystem ran out part-way (the write is then short,
    // as Linux's), an error when not even the first block could be had.
    // Blocks it allocates below the end of the file must read as zeros until
    // the write's data reach them. Default: everything is ready.
    virtual Result<u64> prepare_write(Mapping&, u64 /*pos*/, u64 length) { return length; }

    // A buffered write did not write everything it asked for (prepare_write
    // came up short or failed, or the copy stopped): blocks prepared past
    // the file's end, now final, belong to no data and are released (Linux's
    // ext2_write_failed). Default: nothing.
    virtual void write_failed(Mapping&) { }

    // False for memory-only files (ramfs): their pages are never written
    // back nor reclaimed, and reads of missing pages give zeros.
    virtual bool has_backing_store() const { return true; }

protected:
    ~MappingOperations() = default;
};

struct Mapping {
public:
    // `device` may be null when !ops.has_backing_store(). `block_size_bytes`
    // is the unit of map_blocks: 512 .. PAGE_SIZE, a power of two.
    // May sleep (creates the device's writeback thread on first use).
    Mapping(MappingOperations& ops, block::BlockDevice* device, u32 block_size_bytes, void* host = nullptr);
    ~Mapping();
    Mapping(const Mapping&) = delete;
    Mapping& operator=(const Mapping&) = delete;

    MappingOperations& ops() const { return *m_ops; }
    block::BlockDevice* device() const { return m_device; }
    void* host() const { return m_host; }
    u32 block_shift() const { return m_block_shift; }
    u32 block_size() const { return 1u << m_block_shift; }
    bool has_backing_store() const { return m_ops->has_backing_store(); }
    // The device's writeback context (null without a backing store).
    Writeback* writeback() const { return m_writeback; }

    u64 size_bytes() const { return m_size_bytes.load(MemoryOrder::Acquire); }
    void set_size_bytes(u64 size) { m_size_bytes.store(size, MemoryOrder::Release); }
    // Raise the size to `size` if it is smaller (writes past the end; any context).
    void extend_size_to(u64 size)
    {
        u64 now = size_bytes();
        while (size > now
               && !m_size_bytes.compare_exchange_strong(now, size, MemoryOrder::AcqRel, MemoryOrder::Acquire)) { }
    }
    // Pages [0, page_count) hold file data.
    u64 page_count() const { return (size_bytes() + PAGE_SIZE - 1) >> PAGE_SHIFT; }

    // --- the tree ---------------------------------------------------------------
    // The page at `index` with a reference taken, or null.
    Page* find_get_page(u64 index);
    // Insert `page` (locked, fresh from alloc) at `index`: sets mapping/index,
    // takes the tree's reference, counts it as Cached and puts it on the
    // inactive LRU. EEXIST if another page got there first, ENOMEM.
    Result<void> add_page(Page& page, u64 index);
    // Remove a locked page from the tree (and the LRU) and drop the tree's
    // reference. The page must not be dirty or under writeback unless
    // `discard_dirty` (truncate drops dirty data on purpose).
    void remove_page(Page& page, bool discard_dirty = false);
    // Reclaim: remove a locked page only if it is clean, not under writeback,
    // and referenced by nobody but the tree and the caller's `extra_refs`.
    // Returns whether it did (the tree's reference is dropped then).
    bool remove_page_if_unused(Page& page, i32 extra_refs);

    // Up to `max` pages with index >= start (and <= last) carrying `tag` (or
    // any page when tag is TAG_COUNT), references taken. Returns the count.
    usize gang_lookup(u64 start, u64 last, RadixTree::Tag tag, Page** pages, usize max);
    // Copy DIRTY to TOWRITE on [start, last] (the set a data-integrity sync must write).
    void tag_for_sync(u64 start, u64 last);
    bool any_tagged(RadixTree::Tag tag);
    u64 nr_pages();

    // --- state changes that touch tags and counters ------------------------------
    // Page Dirty (must be up to date, normally locked): tag, count, queue the
    // space for writeback. Returns true if it was clean.
    bool set_page_dirty(Page& page);
    // Only the blocks of the page overlapping [offset, offset + length) are
    // dirty: writeback writes just those (a block device page holding several
    // filesystem metadata blocks). The page need not be locked.
    bool set_page_dirty_range(Page& page, u32 offset, u32 length);
    // The device blocks of [byte_offset, byte_offset + length) no longer
    // belong to this space's cached copy (a freed metadata block reused for
    // file data): their dirty bits are dropped so a stale copy is never
    // written over the new owner's data. Whole blocks only.
    void forget_dirty(u64 byte_offset, u64 length);
    // Locked dirty page -> Writeback (clears DIRTY and TOWRITE, tags
    // WRITEBACK). False if it was not dirty.
    bool clear_dirty_for_io(Page& page);

    // The first write error since the last check (Linux's AS_EIO): 0 or errno;
    // check_error() clears it.
    void record_error(int error) { m_error.store(error, MemoryOrder::Release); }
    int check_error() { return m_error.exchange(0, MemoryOrder::AcqRel); }

    // Drop every page (waiting for I/O in flight) and detach from writeback.
    void release();

    // Direct I/O in flight on this space, from submission to completion
    // (Linux's inode_dio_begin/inode_dio_end): truncation calls
    // wait_for_direct_io() after lowering the size and before the blocks
    // past it are freed, so a direct read never returns data of blocks that
    // were freed (and maybe reused) under it (Linux's inode_dio_wait).
    void direct_io_begin();
    void direct_io_end(); // any context, including the completion interrupt
    void wait_for_direct_io(); // sleeps

    // Writeback bookkeeping (fs/pagecache/Writeback.cpp): on the device's list
    // of spaces with dirty pages, under the writeback lock.
    ListNode m_dirty_node;
    u64 m_dirtied_ns = 0; // when the space went from clean to dirty
    Atomic<bool> m_writeback_busy{false}; // a writeback pass is working on it

private:
    MappingOperations* m_ops;
    block::BlockDevice* m_device;
    Writeback* m_writeback; // null without a backing store
    void* m_host;
    u32 m_block_shift;
    Atomic<u64> m_size_bytes{0};
    Atomic<int> m_error{0};
    Atomic<u32> m_direct_io_in_flight{0};
    WaitQueue m_direct_io_drained;
    Guarded<RadixTree> m_tree;

    friend class Writeback;
    friend void end_page_writeback(Page& page, int error);
};

// Operations of a memory-only space (ramfs, procfs): no backing store.
MappingOperations& memory_only_operations();

// A small ordered set of pages handed to read_pages / write_pages.
class PageBatch {
public:
    static constexpr usize CAPACITY = 32;

    bool is_full() const { return m_count == CAPACITY; }
    bool is_empty() const { return m_count == 0; }
    usize size() const { return m_count; }
    Page* operator[](usize i) const { return m_pages[i]; }
    void add(Page& page) { m_pages[m_count++] = &page; }
    void clear() { m_count = 0; }
    Page* last() const { return m_count ? m_pages[m_count - 1] : nullptr; }

private:
    Page* m_pages[CAPACITY];
    usize m_count = 0;
};

// Completions of the read/write operations (any context).
// A read is over: `error` 0 -> UpToDate, else Error; unlocks and wakes.
void end_page_read(Page& page, int error);
// A write is over: clears WRITEBACK, on error records it in the space.
void end_page_writeback(Page& page, int error);

// The generic bio builders behind the default operations.
void generic_read_pages(Mapping& space, PageBatch& pages);
void generic_write_pages(Mapping& space, PageBatch& pages);

// Allocate a page for the cache, reclaiming (and sleeping) when memory is
// short. Null only when nothing could be freed.
Page* alloc_cache_page();

} // namespace pagecache
