// virtio-blk requests in terms the driver and the block layer share: what the
// device offers once features are negotiated (capacity, block sizes, segment
// limits, read-only, write cache), the check every request passes before it
// becomes a descriptor chain, the request header, and status -> errno.
//
// Portable (no hardware access): host tests cover it, and the driver calls it
// from queue_rq and the completion path.
#pragma once

#include "drivers/virtio/blk/Protocol.h"
#include "kernel/lib/Result.h"
#include "kernel/lib/Types.h"

namespace virtio::blk {

// Feature bits this driver implements, and nothing more (STYLE 12):
// VERSION_1 (modern only), INDIRECT_DESC and EVENT_IDX (SplitVirtqueue),
// SIZE_MAX, SEG_MAX, BLK_SIZE, TOPOLOGY (limits handed to the block layer),
// RO (writes refused), FLUSH (flush requests), MQ (one queue per CPU).
u64 driver_features();

// The bytes the device reads (header) and writes (status) for one request.
// Lives in the request's driver data, so it needs no allocation per I/O.
struct CommandBuffer {
    RequestHeader header;
    u8 status;
};
// Header and status are separate descriptors; the status byte must not share
// its descriptor with the header (device-readable before device-writable).
static_assert(__builtin_offsetof(CommandBuffer, status) == sizeof(RequestHeader));

enum class Operation : u8 { Read, Write, Flush };

// A header, at most `max_segments` data segments, and a status byte.
constexpr usize chain_length(usize data_segments) { return data_segments + 2; }

struct DeviceInfo {
    u64 features; // negotiated
    u64 capacity_sectors; // 512-byte sectors
    u32 logical_block_bytes;
    u32 physical_block_bytes;
    u32 max_segments; // data segments per request
    u32 max_segment_bytes; // one data segment
    u64 max_transfer_bytes;
    u16 num_queues; // request queues the device offers (1 without MQ)
    bool read_only;
    bool volatile_write_cache; // FLUSH negotiated: writes are durable only after a flush
};

// Derive the limits from the negotiated features and a consistent snapshot of
// the device configuration (§5.2.4, §5.2.5). `driver_max_segments` is what the
// driver's chains can hold (its indirect table length minus header and
// status). Fields whose feature was not negotiated get safe defaults: without
// SEG_MAX one data segment per request (as Linux assumes), without SIZE_MAX no
// per-segment limit beyond what a descriptor can describe, without BLK_SIZE
// 512-byte blocks.
DeviceInfo describe_device(u64 negotiated_features, const Config& config, u32 driver_max_segments);

// Everything the device would reject or misinterpret, refused before the
// request reaches it: EROFS for a write to a read-only device, EINVAL for an
// empty or block-misaligned transfer or one past the end of the device.
// A flush needs no range.
Result<void> check_request(const DeviceInfo& info, Operation op, u64 sector, u64 length_bytes);

// §5.2.6: the header for `op` at 512-byte `sector`; status preset to a value
// the device never writes, so a completion without a written status is seen.
void prepare_command(CommandBuffer& command, Operation op, u64 sector);

// The status the device wrote (§5.2.6) as a Linux errno: 0, EIO, EOPNOTSUPP;
// a status left at STATUS_NOT_WRITTEN (or any unknown value) is EIO. The used
// length is deliberately not trusted: devices have reported 0 for chains they
// completed, and the status byte is what §5.2.6 defines as the result.
int completion_errno(const CommandBuffer& command);

// Sentinel status a device never writes (§5.2.6 defines 0-2).
constexpr u8 STATUS_NOT_WRITTEN = 0xff;

} // namespace virtio::blk
