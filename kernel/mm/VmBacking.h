// VmBacking: what a mapping that is not plain anonymous memory maps — a file's
// page cache, a block device, shared anonymous memory, or kernel pages handed
// to a process (io_uring rings). The address space asks it for the page at an
// index when a fault needs one; it never sees its owner's types, so kernel/mm
// stays below fs/ and kernel/io_uring (DESIGN.md tiers).
//
// Pages: get_page() returns a page with one reference taken for the caller
// (the page-table entry that will map it); the address space drops it with
// mm::put_page_ref() after the entry is gone and the TLBs are shot down. The
// contents must be valid (a file page is read in first). A backing may hand
// out the same page to many mappings: MAP_SHARED is coherent with read() and
// write() because every mapping and the file share the page-cache page.
//
// Lifetime: refcounted. A VMA holds one reference for as long as it maps the
// backing (split and fork take more), so the file or ring stays alive under
// its mappings after close().
#pragma once

#include "kernel/lib/Result.h"
#include "kernel/lib/Types.h"

struct Page;

namespace mm {

class VmBacking {
public:
    virtual void ref() = 0;
    virtual void unref() = 0;

    // Bytes the backing holds now; a page wholly past it faults with SIGBUS
    // (Linux: an access beyond the end of the file, mmap(2) "SIGBUS").
    virtual u64 size_bytes() const = 0;

    // The page at `index`, up to date, with a reference for the caller. EIO
    // (read failed) and ENXIO (past the end) become SIGBUS; ENOMEM is OOM.
    // `for_write`: a MAP_SHARED write fault (the backing may allocate blocks).
    // May sleep. Called with the address space's lock held.
    virtual Result<Page*> get_page(u64 index, bool for_write) = 0;

    // A MAP_SHARED page has been (or is about to be) written through a
    // mapping: mark it dirty for writeback. Default: memory without a store.
    virtual void set_page_dirty(Page&) { }

    // Whether the page at `index` is in memory (mincore).
    virtual bool is_resident(u64 index) = 0;

    // msync(MS_SYNC) / fsync of [first_index, last_index]: write dirty pages
    // and wait. Default: nothing to write.
    virtual Result<void> sync_range(u64 /*first_index*/, u64 /*last_index*/) { return {}; }

    // madvise(MADV_WILLNEED): start reading [index, index + count). Default: nothing.
    virtual void will_need(u64 /*index*/, u64 /*count*/) { }

    // A private writable mapping of this backing copies on write; false for
    // kernel objects that must only be mapped shared (io_uring rings).
    virtual bool allows_private() const { return true; }

protected:
    ~VmBacking() = default;
};

} // namespace mm
