// The descriptor of one physical page. One array of these covers all RAM
// (mm::phys_to_page). Owners: the buddy allocator while free; the page cache,
// slab or a driver while allocated.
//
// Lifecycle of a page (who may touch which fields):
//   reserved   PAGE_RESERVED; never handed out (firmware, kernel image, the
//              descriptor array itself). Nobody owns it.
//   free       head of a free buddy block: PAGE_FREE, `order` = block order,
//              `list` links it into the buddy free list of that order. The
//              other pages of the block have no flags. Owner: the buddy.
//   cached     in a per-CPU page magazine (order 0): PAGE_CACHED only, so that
//              a second free_pages of it is caught. Owner: that CPU.
//   allocated  refcount 1 on return from alloc_pages, `order` = the order it
//              was allocated with. The caller owns every other field:
//              slab pages carry PAGE_SLAB (`private_data` = its SlabCache,
//              `list`, `slab_freelist`, `slab_inuse`); large kmalloc blocks
//              carry PAGE_KMALLOC on the head page; the page cache uses
//              `mapping`, `index`, `list` (LRU) and the PAGE_* state bits;
//              its states and their invariants are in fs/pagecache/PageState.h.
//              Page-cache pages change `flags` and `refcount` with atomic
//              operations only (I/O completion runs in interrupts).
#pragma once

#include "kernel/lib/Atomic.h"
#include "kernel/lib/IntrusiveList.h"
#include "kernel/lib/Types.h"

namespace pagecache {
struct Mapping;
}

enum PageFlag : u32 {
    PAGE_FREE = 1 << 0,       // in a buddy free list (head of a block)
    PAGE_RESERVED = 1 << 1,   // never allocatable (firmware, kernel image)
    PAGE_SLAB = 1 << 2,       // owned by a slab cache
    PAGE_LOCKED = 1 << 3,     // page cache: I/O in progress or owner busy
    PAGE_UPTODATE = 1 << 4,   // page cache: contents valid
    PAGE_DIRTY = 1 << 5,      // page cache: newer than the disk
    PAGE_WRITEBACK = 1 << 6,  // page cache: being written to the disk
    PAGE_ERROR = 1 << 7,      // page cache: last I/O failed
    PAGE_LRU = 1 << 8,        // on an LRU list
    PAGE_ACTIVE = 1 << 9,     // on the active (not inactive) LRU list
    PAGE_REFERENCED = 1 << 10, // accessed since last LRU scan
    PAGE_KMALLOC = 1 << 11,   // head of a large kmalloc block (size = 2^order pages)
    PAGE_PAGE_TABLE = 1 << 12, // a page-table page (arch/x86_64/mm)
    PAGE_READAHEAD = 1 << 13, // page cache: readahead trigger (a hit starts the next window)
    PAGE_CACHED = 1 << 14,    // free, in a per-CPU page magazine (order 0)
    PAGE_ANON = 1 << 15,      // anonymous user memory (kernel/mm/PageRef.h)
};

struct Page {
    // Atomic: the page cache changes them from I/O completion; an exclusive
    // owner (buddy, slab, kmalloc) uses relaxed accesses.
    Atomic<u32> flags;
    Atomic<i32> refcount;
    u8 order;           // buddy: order of the free block this page heads; allocated: its order
    u16 slab_inuse;     // slab: objects handed out from this slab
    // Page cache: which blocks of the page are dirty / being written (bit i:
    // block i of the page; up to 8 blocks of 512 bytes). Uses padding.
    Atomic<u16> dirty_blocks;
    u16 writeback_blocks;
    ListNode list;      // buddy free list, slab list, or LRU list
    pagecache::Mapping* mapping; // page cache: owning mapping (a file's or device's cache)
    u64 index;          // page cache: page index in the file
    void* private_data; // owner's use (slab: its SlabCache)
    void* slab_freelist; // slab: first free object
};
static_assert(sizeof(Page) == 64, "keep the descriptor array at 1/64 of RAM");
