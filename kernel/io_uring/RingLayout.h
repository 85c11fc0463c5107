// The shape of a ring as io_uring_setup(2) makes it: how many entries each
// queue gets and where every field sits in the memory the process maps.
//
// Sizes (Linux io_uring/io_uring.c, io_uring_create): the SQ gets `entries`
// rounded up to a power of two, at most MAX_ENTRIES (more is EINVAL, or
// clamped with IORING_SETUP_CLAMP); the CQ gets twice that, or with
// IORING_SETUP_CQSIZE the asked cq_entries rounded up (at most
// MAX_CQ_ENTRIES, never fewer than the SQ). Zero entries is EINVAL.
//
// The rings region (mapped at IORING_OFF_SQ_RING and, with
// IORING_FEAT_SINGLE_MMAP, at IORING_OFF_CQ_RING too) is Linux's struct
// io_rings: the heads, tails, masks and flags in the first cache line, the
// CQEs from byte 64, then the SQ index array on the next cache line. The
// SQEs are a region of their own (IORING_OFF_SQES). Pure arithmetic: the
// host tests check it beside Linux's numbers.
#pragma once

#include "kernel/lib/Result.h"
#include "kernel/lib/Types.h"
#include "uapi/io_uring.h"

namespace io_uring {

constexpr u32 MAX_ENTRIES = 32768;      // IORING_MAX_ENTRIES
constexpr u32 MAX_CQ_ENTRIES = 2 * MAX_ENTRIES; // IORING_MAX_CQ_ENTRIES
constexpr usize CACHE_LINE = 64;

// struct io_rings, the fixed part (the CQEs follow at CQES_OFFSET).
struct RingHeader {
    u32 sq_head;
    u32 sq_tail;
    u32 cq_head;
    u32 cq_tail;
    u32 sq_ring_mask;
    u32 cq_ring_mask;
    u32 sq_ring_entries;
    u32 cq_ring_entries;
    u32 sq_dropped;
    u32 sq_flags; // IORING_SQ_*
    u32 cq_flags; // IORING_CQ_*
    u32 cq_overflow;
};
static_assert(sizeof(RingHeader) == 48);

constexpr usize CQES_OFFSET = CACHE_LINE; // cqes[] is cache-line aligned in io_rings

constexpr u32 round_up_power_of_two(u32 value)
{
    u32 result = 1;
    while (result < value)
        result <<= 1;
    return result;
}

struct RingSizes {
    u32 sq_entries;
    u32 cq_entries;
};

// io_uring_create's sizing; `cq_entries` is the caller's (used with CQSIZE).
inline Result<RingSizes> ring_sizes(u32 entries, u32 setup_flags, u32 cq_entries)
{
    if (entries == 0)
        return Error::from_errno(EINVAL);
    if (entries > MAX_ENTRIES) {
        if (!(setup_flags & IORING_SETUP_CLAMP))
            return Error::from_errno(EINVAL);
        entries = MAX_ENTRIES;
    }
    RingSizes sizes{ round_up_power_of_two(entries), 0 };
    if (setup_flags & IORING_SETUP_CQSIZE) {
        if (cq_entries == 0)
            return Error::from_errno(EINVAL);
        if (cq_entries > MAX_CQ_ENTRIES) {
            if (!(setup_flags & IORING_SETUP_CLAMP))
                return Error::from_errno(EINVAL);
            cq_entries = MAX_CQ_ENTRIES;
        }
        sizes.cq_entries = round_up_power_of_two(cq_entries);
        if (sizes.cq_entries < sizes.sq_entries)
            return Error::from_errno(EINVAL);
    } else {
        sizes.cq_entries = 2 * sizes.sq_entries;
    }
    return sizes;
}

// Byte offset of the SQ index array in the rings region.
constexpr usize sq_array_offset(u32 cq_entries)
{
    return align_up(CQES_OFFSET + usize(cq_entries) * sizeof(uapi::io_uring_cqe), CACHE_LINE);
}
constexpr usize rings_bytes(const RingSizes& sizes)
{
    return sq_array_offset(sizes.cq_entries) + usize(sizes.sq_entries) * sizeof(u32);
}
constexpr usize sqes_bytes(const RingSizes& sizes) { return usize(sizes.sq_entries) * sizeof(uapi::io_uring_sqe); }

// io_uring_params.sq_off / cq_off, as Linux fills them.
constexpr uapi::io_sqring_offsets sq_offsets(const RingSizes& sizes)
{
    uapi::io_sqring_offsets off{};
    off.head = __builtin_offsetof(RingHeader, sq_head);
    off.tail = __builtin_offsetof(RingHeader, sq_tail);
    off.ring_mask = __builtin_offsetof(RingHeader, sq_ring_mask);
    off.ring_entries = __builtin_offsetof(RingHeader, sq_ring_entries);
    off.flags = __builtin_offsetof(RingHeader, sq_flags);
    off.dropped = __builtin_offsetof(RingHeader, sq_dropped);
    off.array = static_cast<u32>(sq_array_offset(sizes.cq_entries));
    return off;
}
constexpr uapi::io_cqring_offsets cq_offsets()
{
    uapi::io_cqring_offsets off{};
    off.head = __builtin_offsetof(RingHeader, cq_head);
    off.tail = __builtin_offsetof(RingHeader, cq_tail);
    off.ring_mask = __builtin_offsetof(RingHeader, cq_ring_mask);
    off.ring_entries = __builtin_offsetof(RingHeader, cq_ring_entries);
    off.overflow = __builtin_offsetof(RingHeader, cq_overflow);
    off.cqes = CQES_OFFSET;
    off.flags = __builtin_offsetof(RingHeader, cq_flags);
    return off;
}

} // namespace io_uring
