#include "kernel/block/Limits.h"

#include "uapi/errno.h"

namespace block {

int validate_bio(const Bio& bio, const QueueLimits& limits, u64 capacity_sectors)
{
    if (bio.op == BioOp::Flush)
        return bio.iter.size_bytes == 0 ? 0 : EINVAL;
    const u32 lbs_sectors = limits.logical_block_size >> SECTOR_SHIFT;
    if (bio.iter.size_bytes == 0 || bio.vecs == nullptr)
        return EINVAL;
    if (bio.iter.size_bytes % limits.logical_block_size != 0 || bio.iter.sector % lbs_sectors != 0)
        return EINVAL;
    int error = 0;
    for_each_segment(bio, [&](const BioSegment& segment) {
        if ((segment.offset | segment.length) & limits.dma_alignment_mask)
            error = EINVAL;
    });
    if (error)
        return error;
    if (bio.iter.sector >= capacity_sectors || bio.sectors() > capacity_sectors - bio.iter.sector)
        return EIO;
    return 0;
}

namespace {

// Walks the pieces of a bio as a request would see them (cut at
// max_segment_size), stopping when fn returns false.
template <typename Fn>
void for_each_request_segment(const Bio& bio, const QueueLimits& limits, Fn&& fn)
{
    bool stop = false;
    for_each_segment(bio, [&](const BioSegment& segment) {
        u32 offset = segment.offset;
        u32 left = segment.length;
        while (left && !stop) {
            const u32 length = min(left, limits.max_segment_size);
            if (!fn(offset, length))
                stop = true;
            offset += length;
            left -= length;
        }
    });
}

} // namespace

u32 bio_segment_count(const Bio& bio, const QueueLimits& limits)
{
    u32 count = 0;
    for_each_request_segment(bio, limits, [&](u32, u32) {
        count++;
        return true;
    });
    return count;
}

u32 split_point_bytes(const Bio& bio, const QueueLimits& limits)
{
    const u32 max_bytes = limits.max_request_bytes();
    const u32 mask = limits.virt_boundary_mask;
    u32 bytes = 0;
    u32 segments = 0;
    bool previous_ended_on_boundary = true;
    for_each_request_segment(bio, limits, [&](u32 offset, u32 length) {
        if (segments == limits.max_segments)
            return false;
        // A gap: this piece cannot follow the previous one in the same request.
        if (mask && segments && (!previous_ended_on_boundary || (offset & mask)))
            return false;
        if (bytes + length > max_bytes) {
            bytes = max_bytes; // take what fits of this piece
            return false;
        }
        bytes += length;
        segments++;
        previous_ended_on_boundary = ((offset + length) & mask) == 0;
        return true;
    });
    return align_down(min(bytes, bio.iter.size_bytes), limits.logical_block_size);
}

namespace {

// The (offset, length) of a bio's last piece and first piece.
void last_segment(const Bio& bio, u32& offset, u32& length)
{
    for_each_segment(bio, [&](const BioSegment& segment) {
        offset = segment.offset;
        length = segment.length;
    });
}

u32 first_segment_offset(const Bio& bio)
{
    const BioVec& vec = bio.vecs[bio.iter.index];
    return vec.offset + bio.iter.done_bytes;
}

} // namespace

bool segments_mergeable(const Bio& last, const Bio& next, const QueueLimits& limits)
{
    const u32 mask = limits.virt_boundary_mask;
    if (!mask)
        return true;
    u32 offset = 0, length = 0;
    last_segment(last, offset, length);
    return ((offset + length) & mask) == 0 && (first_segment_offset(next) & mask) == 0;
}

} // namespace block
