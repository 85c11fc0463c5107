// Reading the virtio-blk configuration (§5.2.4) through the transport: every
// field with its own width, as one consistent snapshot (§2.5.1).
#pragma once

#include "drivers/virtio/PciTransport.h"
#include "drivers/virtio/blk/Protocol.h"

namespace virtio::blk {

// Fills `config` (fields of features not negotiated are left 0). false when
// the device never presented a stable configuration.
bool read_config(PciTransport& transport, u64 negotiated_features, Config& config);

} // namespace virtio::blk
