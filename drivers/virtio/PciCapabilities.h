// Virtio over PCI: the vendor-specific capabilities that locate the modern
// transport's register blocks, and the common configuration layout (virtio 1.2
// §4.1.4).
#pragma once

#include "kernel/lib/Types.h"

namespace virtio::pci {

// §4.1.2 PCI Device Discovery: vendor 0x1af4; modern-only devices use device id
// 0x1040 + virtio device id; transitional devices 0x1000-0x103f.
constexpr u16 VENDOR_ID = 0x1af4;
constexpr u16 MODERN_DEVICE_ID_BASE = 0x1040;
constexpr u16 TRANSITIONAL_DEVICE_ID_BLOCK = 0x1001;
// §5 Device Types.
constexpr u16 DEVICE_TYPE_BLOCK = 2;

// PCI capability id of a vendor-specific capability (PCI Local Bus 3.0 §H).
constexpr u8 PCI_CAPABILITY_VENDOR = 0x09;

// §4.1.4 cfg_type values.
enum class CapabilityType : u8 {
    Common = 1, // §4.1.4.3 common configuration
    Notify = 2, // §4.1.4.4 notifications
    Isr = 3, // §4.1.4.5 ISR status
    Device = 4, // §4.1.4.6 device-specific configuration
    PciConfig = 5, // alternative access through PCI configuration space
    SharedMemory = 8, // §4.1.4.7 shared memory regions
    Vendor = 9, // vendor data
};

// §4.1.4 struct virtio_pci_cap, as it sits in PCI configuration space.
struct Capability {
    u8 cap_vndr; // PCI_CAPABILITY_VENDOR
    u8 cap_next;
    u8 cap_len;
    u8 cfg_type; // CapabilityType
    u8 bar; // 0-5: which BAR holds the structure
    u8 id; // several capabilities of one type are told apart by id
    u8 padding[2];
    u32 offset; // within the BAR
    u32 length; // bytes
};
static_assert(sizeof(Capability) == 16);
static_assert(__builtin_offsetof(Capability, offset) == 8);

// §4.1.4.4: the notify capability adds the multiplier that turns a queue's
// queue_notify_off into a byte offset in the notification region.
struct NotifyCapability {
    Capability cap;
    u32 notify_off_multiplier;
};
static_assert(sizeof(NotifyCapability) == 20);

// §4.1.4.4: the address to write when notifying queue q is
//   cap.offset + queue_notify_off(q) * notify_off_multiplier
// within the BAR. Without VIRTIO_F_NOTIFICATION_DATA the driver writes the
// 16-bit queue index there (§4.1.5.2).
constexpr u64 notify_offset(u32 cap_offset, u16 queue_notify_off, u32 multiplier)
{
    return u64(cap_offset) + u64(queue_notify_off) * multiplier;
}

// §4.1.4.3 struct virtio_pci_common_cfg. Every field is accessed with its own
// width (§4.1.3.1); 64-bit fields are written as two 32-bit halves. The 64-bit
// fields sit at 8-byte offsets, but the structure is 60 bytes long: packed
// with 4-byte alignment so sizeof matches the spec.
struct [[gnu::packed, gnu::aligned(4)]] CommonConfig
{
    // About the whole device.
    u32 device_feature_select; // which 32 bits device_feature shows (0 or 1)
    u32 device_feature; // read-only
    u32 driver_feature_select;
    u32 driver_feature;
    u16 config_msix_vector; // MSI-X table entry for configuration changes
    u16 num_queues; // read-only: queues the device offers
    u8 device_status; // DeviceStatus
    u8 config_generation; // read-only: changes when device config changes
    // About the queue selected by queue_select.
    u16 queue_select;
    u16 queue_size; // device's maximum on reset; the driver may lower it
    u16 queue_msix_vector; // MSI-X table entry for this queue's used buffers
    u16 queue_enable; // write 1 after the rest is set up
    u16 queue_notify_off; // read-only
    u64 queue_desc; // descriptor table
    u64 queue_driver; // available ring
    u64 queue_device; // used ring
    u16 queue_notify_data; // read-only, with VIRTIO_F_NOTIF_CONFIG_DATA
    u16 queue_reset; // with VIRTIO_F_RING_RESET
};
static_assert(sizeof(CommonConfig) == 60);
static_assert(__builtin_offsetof(CommonConfig, config_msix_vector) == 0x10);
static_assert(__builtin_offsetof(CommonConfig, device_status) == 0x14);
static_assert(__builtin_offsetof(CommonConfig, queue_select) == 0x16);
static_assert(__builtin_offsetof(CommonConfig, queue_msix_vector) == 0x1a);
static_assert(__builtin_offsetof(CommonConfig, queue_notify_off) == 0x1e);
static_assert(__builtin_offsetof(CommonConfig, queue_desc) == 0x20);
static_assert(__builtin_offsetof(CommonConfig, queue_driver) == 0x28);
static_assert(__builtin_offsetof(CommonConfig, queue_device) == 0x30);
static_assert(__builtin_offsetof(CommonConfig, queue_notify_data) == 0x38);

// Devices before virtio 1.2 end the structure at queue_device (56 bytes): the
// driver must not touch the last two fields when the capability is shorter.
constexpr u32 COMMON_CONFIG_MIN_LENGTH = 0x38;

// §4.1.4.3: writing this to a vector field disables the interrupt; reading it
// back after a write means the device could not allocate the vector.
constexpr u16 NO_VECTOR = 0xffff;

// §4.1.4.5 ISR status: reading it clears it. Only used with INTx (MSI-X
// deliveries do not touch it), kept for completeness of the layout.
constexpr u8 ISR_QUEUE = 1 << 0;
constexpr u8 ISR_CONFIG = 1 << 1;

} // namespace virtio::pci
