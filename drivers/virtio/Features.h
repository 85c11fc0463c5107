// Device-independent virtio feature bits (virtio 1.2 §6 "Reserved Feature
// Bits") and the negotiation rule (§2.2, §3.1.1).
//
// Feature bits are numbers 0..63; bits 0-23 belong to the device type (see
// drivers/virtio/blk/Protocol.h), 24-40 to the queue and transport.
#pragma once

#include "kernel/lib/Types.h"

namespace virtio {

constexpr u64 feature_bit(unsigned bit) { return u64(1) << bit; }

constexpr unsigned FEATURE_INDIRECT_DESC = 28; // §2.7.5.3 indirect descriptor tables
constexpr unsigned FEATURE_EVENT_IDX = 29; // §2.7.7, §2.7.10 used_event / avail_event
constexpr unsigned FEATURE_VERSION_1 = 32; // compliance with this spec (no legacy)
constexpr unsigned FEATURE_ACCESS_PLATFORM = 33; // device sits behind an IOMMU
constexpr unsigned FEATURE_RING_PACKED = 34; // §2.8 packed virtqueues
constexpr unsigned FEATURE_IN_ORDER = 35;
constexpr unsigned FEATURE_ORDER_PLATFORM = 36;
constexpr unsigned FEATURE_SR_IOV = 37;
constexpr unsigned FEATURE_NOTIFICATION_DATA = 38;
constexpr unsigned FEATURE_NOTIF_CONFIG_DATA = 39;
constexpr unsigned FEATURE_RING_RESET = 40;

// §3.1.1 step 4: the driver writes the subset of the device's features it
// understands. Returns 0 when the device is not a virtio 1.x device (the
// driver requires VERSION_1: the legacy interface is not implemented).
constexpr u64 negotiate_features(u64 device_features, u64 driver_features)
{
    if (!(device_features & feature_bit(FEATURE_VERSION_1)))
        return 0;
    return device_features & driver_features;
}

constexpr bool has_feature(u64 features, unsigned bit) { return features & feature_bit(bit); }

} // namespace virtio
