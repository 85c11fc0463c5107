// The descriptor of one physical page. One array of these covers all RAM
// (mm::phys_to_page). Owners: the buddy allocator while free; the page cache,
// slab or a driver while allocated.
#pragma once

#include "kernel/lib/IntrusiveList.h"
#include "kernel/lib/Types.h"

struct AddressSpace;

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
};

struct Page {
    u32 flags;
    i32 refcount;
    u8 order;          // buddy: order of the free block this page heads
    ListNode list;     // buddy free list, per-CPU cache, or LRU list
    AddressSpace* mapping; // page cache: owning address space
    u64 index;         // page cache: page index in the file
    void* private_data; // owner's use (slab: its Slab)
};
