// virtio-blk configuration space reader. See DeviceConfig.h.
#include "drivers/virtio/blk/DeviceConfig.h"

#include "drivers/virtio/Features.h"

namespace virtio::blk {

bool read_config(PciTransport& transport, u64 negotiated, Config& config)
{
#define OFFSET(field) u32(__builtin_offsetof(Config, field))
    return transport.read_device_config([&] {
        config = Config{};
        config.capacity = transport.device_read64(OFFSET(capacity));
        if (has_feature(negotiated, FEATURE_SIZE_MAX))
            config.size_max = transport.device_read32(OFFSET(size_max));
        if (has_feature(negotiated, FEATURE_SEG_MAX))
            config.seg_max = transport.device_read32(OFFSET(seg_max));
        if (has_feature(negotiated, FEATURE_BLK_SIZE))
            config.blk_size = transport.device_read32(OFFSET(blk_size));
        if (has_feature(negotiated, FEATURE_TOPOLOGY)) {
            config.topology.physical_block_exp = transport.device_read8(OFFSET(topology.physical_block_exp));
            config.topology.alignment_offset = transport.device_read8(OFFSET(topology.alignment_offset));
            config.topology.min_io_size = transport.device_read16(OFFSET(topology.min_io_size));
            config.topology.opt_io_size = transport.device_read32(OFFSET(topology.opt_io_size));
        }
        if (has_feature(negotiated, FEATURE_MQ))
            config.num_queues = transport.device_read16(OFFSET(num_queues));
    });
#undef OFFSET
}

} // namespace virtio::blk
