// What a device accepts in one request, and the checks that keep everything
// else away from the driver: misaligned or out-of-range bios are rejected
// here with an errno, oversized ones are split here (Linux blk-settings.c,
// blk-merge.c).
#pragma once

#include "kernel/block/Bio.h"
#include "kernel/lib/Types.h"

namespace block {

struct QueueLimits {
    u32 logical_block_size = 512;   // smallest addressable unit
    u32 physical_block_size = 512;  // smallest unit written without read-modify-write
    u32 max_hw_sectors = 256;       // per request, in 512-byte sectors (NVMe: from MDTS)
    u16 max_segments = 128;         // per request
    u32 max_segment_size = 1u << 20;
    // When non-zero, every segment of a request but the first must start on
    // a (mask + 1) boundary and every segment but the last must end on one
    // (NVMe PRPs need PAGE_SIZE - 1; virtio-blk needs 0).
    u32 virt_boundary_mask = 0;
    // Buffer offsets and lengths must be multiples of (mask + 1).
    u32 dma_alignment_mask = 511;
    bool write_cache = false;       // a Flush reaches the device (else it completes at once)
    bool fua = false;

    u32 max_request_bytes() const { return max_hw_sectors << SECTOR_SHIFT; }
};

// 0 if `bio` may be sent to a device with `limits` and `capacity_sectors`;
// EINVAL for misalignment (sector, size or memory versus the logical block
// size and DMA alignment) or an empty data bio, EIO beyond the end of the
// device (as Linux's bio_check_eod), EOPNOTSUPP for FUA without support is
// not an error (FUA is then emulated by the flush machinery: not yet).
int validate_bio(const Bio& bio, const QueueLimits& limits, u64 capacity_sectors);

// How many bytes from the start of `bio`'s current range fit one request:
// the whole bio, or a prefix that respects max_hw_sectors, max_segments,
// max_segment_size and the virt boundary, rounded down to the logical block
// size. Returns 0 only if not even one logical block fits (a bug upstream).
u32 split_point_bytes(const Bio& bio, const QueueLimits& limits);

// Segments `bio` will occupy in a request (each piece counts, after cutting
// at max_segment_size).
u32 bio_segment_count(const Bio& bio, const QueueLimits& limits);

// True if a request ending with `last` may be followed by `next` without
// breaking the virt boundary (the gap rule of blk-merge.c).
bool segments_mergeable(const Bio& last, const Bio& next, const QueueLimits& limits);

} // namespace block
