// Bio: one block I/O as its submitter sees it. A device, a starting sector,
// a vector of (page, offset, length) pieces of memory, an operation, flags,
// and a callback that runs when the I/O is over.
//
// Lifecycle: the submitter fills a Bio and calls block::submit_bio(); from
// then until end_io runs, the block layer owns it (it may be linked into a
// Request through `next`, or split into children that share its vector).
// end_io runs exactly once, from the completion path (interrupt context, or
// the polling thread), with `status` set: 0 or a positive errno. The
// submitter owns the Bio again inside end_io.
//
// The vector is never modified by the block layer: `iter` says which part of
// it this Bio still covers, so a split child is the same vector with another
// iter (Linux's bvec_iter).
#pragma once

#include "kernel/lib/Atomic.h"
#include "kernel/lib/Types.h"

struct Page;

namespace block {

class BlockDevice;

constexpr u32 SECTOR_SHIFT = 9;
constexpr u32 SECTOR_SIZE = 1u << SECTOR_SHIFT;

enum class BioOp : u8 {
    Read,
    Write,
    Flush, // make everything completed before it durable; carries no data
};

enum BioFlag : u32 {
    BIO_FUA = 1u << 0,     // write through to stable media (NVMe FUA)
    BIO_POLLED = 1u << 1,  // complete on a polled queue (io_uring IOPOLL)
    BIO_NOMERGE = 1u << 2, // never merge with a neighbour
    BIO_SYNC = 1u << 3,    // a thread waits for it (dispatch without delay)
};

// A piece of memory. `page` is the first page; offset + length may run into
// following pages when they are physically contiguous (a higher-order block).
struct BioVec {
    Page* page;
    u32 offset;
    u32 length;
};

// Where a Bio currently is within its vector.
struct BioIter {
    u64 sector = 0;       // 512-byte units
    u32 size_bytes = 0;   // bytes left
    u16 index = 0;        // current vector entry
    u32 done_bytes = 0;   // bytes of vecs[index] already consumed
};

struct Bio {
    using EndIo = void (*)(Bio& bio);

    BlockDevice* device = nullptr;
    BioOp op = BioOp::Read;
    u32 flags = 0;
    BioIter iter;
    const BioVec* vecs = nullptr;
    u16 vec_count = 0;

    // Set before end_io: 0 or a positive errno. While a split parent's
    // children complete on several CPUs, they write it only through
    // AtomicRef (the first error wins); end_io reads it after the last
    // pending_children decrement, which orders it.
    int status = 0;
    EndIo end_io = nullptr;
    void* private_data = nullptr; // the submitter's

    // Block layer: next bio of the same Request; the parent of a split child
    // and how many children the parent still waits for.
    Bio* next = nullptr;
    Bio* parent = nullptr;
    Atomic<u32> pending_children{0};
    u64 submit_ns = 0;

    u64 sector() const { return iter.sector; }
    u32 size_bytes() const { return iter.size_bytes; }
    u32 sectors() const { return iter.size_bytes >> SECTOR_SHIFT; }
    u64 end_sector() const { return iter.sector + sectors(); }
    bool is_write() const { return op == BioOp::Write; }
    bool has_data() const { return op != BioOp::Flush && iter.size_bytes != 0; }
};

// Point `bio` at `count` vecs, starting at `sector`, covering their total length.
void bio_init(Bio& bio, BioOp op, u64 sector, const BioVec* vecs, u16 count);

// Move `iter` forward by `bytes` within `vecs` (sector too).
void bio_iter_advance(BioIter& iter, const BioVec* vecs, u32 bytes);

// One contiguous piece of the Bio's current range: a slice of one BioVec.
struct BioSegment {
    Page* page;
    u32 offset; // from page's start; may exceed PAGE_SIZE for multi-page vecs
    u32 length;
};

// Calls fn(const BioSegment&) for each piece of the current range in order.
template <typename Fn>
void for_each_segment(const Bio& bio, Fn&& fn)
{
    u32 left = bio.iter.size_bytes;
    u16 index = bio.iter.index;
    u32 done = bio.iter.done_bytes;
    while (left) {
        const BioVec& vec = bio.vecs[index];
        const u32 length = min(vec.length - done, left);
        fn(BioSegment { vec.page, vec.offset + done, length });
        left -= length;
        index++;
        done = 0;
    }
}

} // namespace block
