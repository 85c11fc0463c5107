// The device status field (virtio 1.2 §2.1): the driver walks it through the
// initialization sequence of §3.1.1 and reads it back to see failures.
#pragma once

#include "kernel/lib/Types.h"

namespace virtio {

enum DeviceStatus : u8 {
    STATUS_RESET = 0, // writing 0 resets the device (§2.4)
    STATUS_ACKNOWLEDGE = 1, // the guest noticed the device
    STATUS_DRIVER = 2, // the guest knows how to drive it
    STATUS_DRIVER_OK = 4, // the driver is set up and ready
    STATUS_FEATURES_OK = 8, // feature negotiation is complete
    STATUS_DEVICE_NEEDS_RESET = 64, // the device hit an error it cannot recover from
    STATUS_FAILED = 128, // the guest gave up on the device
};

} // namespace virtio
