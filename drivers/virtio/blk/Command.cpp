// virtio-blk request checks, limits and status mapping. See Command.h.
#include "drivers/virtio/blk/Command.h"

#include "drivers/virtio/Features.h"
#include "kernel/lib/Atomic.h"

namespace virtio::blk {

u64 driver_features()
{
    return feature_bit(FEATURE_VERSION_1) | feature_bit(FEATURE_INDIRECT_DESC)
        | feature_bit(FEATURE_EVENT_IDX) | feature_bit(FEATURE_SIZE_MAX) | feature_bit(FEATURE_SEG_MAX)
        | feature_bit(FEATURE_BLK_SIZE) | feature_bit(FEATURE_TOPOLOGY) | feature_bit(FEATURE_RO)
        | feature_bit(FEATURE_FLUSH) | feature_bit(FEATURE_MQ);
}

namespace {

constexpr bool is_power_of_two(u64 v) { return v && !(v & (v - 1)); }

// The largest block size accepted from blk_size: a page, as Linux requires.
constexpr u32 MAX_LOGICAL_BLOCK_BYTES = 4096;

} // namespace

DeviceInfo describe_device(u64 negotiated, const Config& config, u32 driver_max_segments)
{
    DeviceInfo info{};
    info.features = negotiated;
    info.capacity_sectors = config.capacity;

    // §5.2.5: blk_size is an optimization hint for the driver; it is the
    // granularity the block layer must respect. Ignore nonsense values.
    info.logical_block_bytes = SECTOR_SIZE;
    if (has_feature(negotiated, FEATURE_BLK_SIZE) && is_power_of_two(config.blk_size)
        && config.blk_size >= SECTOR_SIZE && config.blk_size <= MAX_LOGICAL_BLOCK_BYTES)
        info.logical_block_bytes = config.blk_size;
    info.physical_block_bytes = info.logical_block_bytes;
    if (has_feature(negotiated, FEATURE_TOPOLOGY) && config.topology.physical_block_exp < 8)
        info.physical_block_bytes = info.logical_block_bytes << config.topology.physical_block_exp;

    u32 max_segments = 1;
    if (has_feature(negotiated, FEATURE_SEG_MAX) && config.seg_max)
        max_segments = config.seg_max;
    info.max_segments = min(max_segments, max(driver_max_segments, u32(1)));

    // One descriptor describes at most 4 GiB - 1; the block layer works in
    // pages, so cap the segment at something it can express comfortably.
    info.max_segment_bytes = 0x80000000u;
    if (has_feature(negotiated, FEATURE_SIZE_MAX) && config.size_max)
        info.max_segment_bytes = min(config.size_max, info.max_segment_bytes);
    // Segments shorter than a block would split blocks across descriptors,
    // which is legal, but a limit below the block size is a broken device.
    if (info.max_segment_bytes < info.logical_block_bytes)
        info.max_segment_bytes = info.logical_block_bytes;

    const u64 transfer = u64(info.max_segments) * info.max_segment_bytes;
    info.max_transfer_bytes = align_down(min(transfer, u64(0xffffffffu)), u64(info.logical_block_bytes));

    info.num_queues = 1;
    if (has_feature(negotiated, FEATURE_MQ) && config.num_queues)
        info.num_queues = config.num_queues;
    info.read_only = has_feature(negotiated, FEATURE_RO);
    info.volatile_write_cache = has_feature(negotiated, FEATURE_FLUSH);
    return info;
}

Result<void> check_request(const DeviceInfo& info, Operation op, u64 sector, u64 length_bytes)
{
    if (op == Operation::Flush)
        return {};
    if (op == Operation::Write && info.read_only)
        return Error::from_errno(EROFS);
    if (length_bytes == 0 || length_bytes > info.max_transfer_bytes)
        return Error::from_errno(EINVAL);
    const u64 block_sectors = info.logical_block_bytes >> SECTOR_SHIFT;
    if (!is_aligned(length_bytes, u64(info.logical_block_bytes)) || !is_aligned(sector, block_sectors))
        return Error::from_errno(EINVAL);
    const u64 sectors = length_bytes >> SECTOR_SHIFT;
    if (sector >= info.capacity_sectors || sectors > info.capacity_sectors - sector)
        return Error::from_errno(EINVAL);
    return {};
}

void prepare_command(CommandBuffer& command, Operation op, u64 sector)
{
    switch (op) {
    case Operation::Read:
        command.header.type = REQUEST_IN;
        break;
    case Operation::Write:
        command.header.type = REQUEST_OUT;
        break;
    case Operation::Flush:
        // §5.2.6: sector is ignored for a flush; the driver writes 0.
        command.header.type = REQUEST_FLUSH;
        sector = 0;
        break;
    }
    command.header.reserved = 0;
    command.header.sector = sector;
    command.status = STATUS_NOT_WRITTEN;
}

int completion_errno(const CommandBuffer& command)
{
    const u8 status = AtomicRef(command.status).load(MemoryOrder::Relaxed);
    switch (status) {
    case STATUS_OK:
        return 0;
    case STATUS_UNSUPP:
        return EOPNOTSUPP;
    case STATUS_IOERR:
    default:
        return EIO;
    }
}

} // namespace virtio::blk
