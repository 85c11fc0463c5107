// Virtio modern PCI transport (virtio 1.2 §4.1). See PciTransport.h.
#include "drivers/virtio/PciTransport.h"

#include "drivers/virtio/DeviceStatus.h"
#include "drivers/virtio/Features.h"

namespace virtio {

namespace {

constexpr u16 common_field(usize offset) { return u16(offset); }
#define COMMON(field) common_field(__builtin_offsetof(pci::CommonConfig, field))

// §4.1.4: byte offsets of struct virtio_pci_cap in configuration space.
constexpr u16 CAP_LEN = 2;
constexpr u16 CAP_CFG_TYPE = 3;
constexpr u16 CAP_BAR = 4;
constexpr u16 CAP_OFFSET = 8;
constexpr u16 CAP_LENGTH = 12;
constexpr u16 CAP_NOTIFY_MULTIPLIER = 16;
constexpr u8 MAX_BAR = 5;

// How long reset() polls device_status for 0. QEMU completes a reset within
// the write itself; real devices may take a while.
constexpr u32 RESET_POLL_LIMIT = 1'000'000;

} // namespace

Result<PciTransport> PciTransport::probe(PciFunction& function)
{
    PciTransport transport(function);
    // §4.1.4: walk every vendor capability; use the first one of each type
    // the driver can use, ignore unknown types and reserved BAR numbers.
    for (u16 cap = function.find_capability(pci::PCI_CAPABILITY_VENDOR, 0); cap;
         cap = function.find_capability(pci::PCI_CAPABILITY_VENDOR, cap)) {
        const u8 cap_len = function.config_read8(cap + CAP_LEN);
        const auto type = pci::CapabilityType(function.config_read8(cap + CAP_CFG_TYPE));
        const u8 bar = function.config_read8(cap + CAP_BAR);
        if (cap_len < sizeof(pci::Capability) || bar > MAX_BAR)
            continue;
        Region* slot = nullptr;
        u32 min_length = 1;
        switch (type) {
        case pci::CapabilityType::Common:
            slot = &transport.m_common;
            min_length = pci::COMMON_CONFIG_MIN_LENGTH;
            break;
        case pci::CapabilityType::Notify:
            if (cap_len < sizeof(pci::NotifyCapability))
                continue;
            slot = &transport.m_notify;
            min_length = 2;
            break;
        case pci::CapabilityType::Isr:
            slot = &transport.m_isr;
            break;
        case pci::CapabilityType::Device:
            slot = &transport.m_device;
            break;
        default:
            continue; // PCI config access, shared memory, vendor data: not used
        }
        if (slot->present())
            continue;
        const u32 offset = function.config_read32(cap + CAP_OFFSET);
        const u32 length = function.config_read32(cap + CAP_LENGTH);
        if (length < min_length || u64(offset) + length > function.bar_size(bar))
            continue;
        RegisterIo* io = function.map_bar(bar);
        if (!io)
            continue;
        *slot = Region{ io, bar, offset, length };
        if (type == pci::CapabilityType::Notify)
            transport.m_notify_multiplier = function.config_read32(cap + CAP_NOTIFY_MULTIPLIER);
    }
    if (!transport.m_common.present() || !transport.m_notify.present() || !transport.m_isr.present())
        return Error::from_errno(ENODEV);
    return transport;
}

Result<void> PciTransport::reset()
{
    common_write8(COMMON(device_status), STATUS_RESET);
    // §4.1.4.3.2: the driver waits for a read of device_status to return 0.
    for (u32 i = 0; i < RESET_POLL_LIMIT; i++) {
        if (common_read8(COMMON(device_status)) == 0)
            return {};
    }
    return Error::from_errno(ETIMEDOUT);
}

u8 PciTransport::status() { return common_read8(COMMON(device_status)); }

void PciTransport::add_status(u8 bits)
{
    // §2.1.1: the driver never clears a bit it set (only reset does).
    common_write8(COMMON(device_status), u8(status() | bits));
}

u64 PciTransport::device_features()
{
    common_write32(COMMON(device_feature_select), 0);
    const u32 low = common_read32(COMMON(device_feature));
    common_write32(COMMON(device_feature_select), 1);
    const u32 high = common_read32(COMMON(device_feature));
    return (u64(high) << 32) | low;
}

Result<u64> PciTransport::negotiate(u64 driver_features)
{
    const u64 negotiated = negotiate_features(device_features(), driver_features);
    if (!negotiated)
        return Error::from_errno(ENODEV);
    common_write32(COMMON(driver_feature_select), 0);
    common_write32(COMMON(driver_feature), u32(negotiated));
    common_write32(COMMON(driver_feature_select), 1);
    common_write32(COMMON(driver_feature), u32(negotiated >> 32));
    // §3.1.1 steps 5-6: FEATURES_OK, then re-read: a device that cannot work
    // with this subset clears it again.
    add_status(STATUS_FEATURES_OK);
    if (!(status() & STATUS_FEATURES_OK))
        return Error::from_errno(EIO);
    return negotiated;
}

u16 PciTransport::num_queues() { return common_read16(COMMON(num_queues)); }

u16 PciTransport::queue_max_size(u16 queue)
{
    common_write16(COMMON(queue_select), queue);
    return common_read16(COMMON(queue_size));
}

void PciTransport::common_write64(u32 field, u64 value)
{
    // §4.1.3.1: 64-bit fields are written as two 32-bit halves, low first.
    common_write32(field, u32(value));
    common_write32(field + 4, u32(value >> 32));
}

Result<QueueNotifier> PciTransport::enable_queue(u16 queue, const SplitVirtqueue& ring, u16 msix_entry)
{
    common_write16(COMMON(queue_select), queue);
    const u16 max_size = common_read16(COMMON(queue_size));
    // §4.1.4.3.2: the driver may only lower queue_size, and never enable a
    // queue twice without a reset.
    if (!max_size || ring.size() > max_size || common_read16(COMMON(queue_enable)))
        return Error::from_errno(EINVAL);
    common_write16(COMMON(queue_size), ring.size());
    common_write64(COMMON(queue_desc), ring.descriptor_table_phys());
    common_write64(COMMON(queue_driver), ring.driver_area_phys());
    common_write64(COMMON(queue_device), ring.device_area_phys());
    // §4.1.5.1.2.1: read the vector back; NO_VECTOR means it was refused.
    common_write16(COMMON(queue_msix_vector), msix_entry);
    if (common_read16(COMMON(queue_msix_vector)) != msix_entry)
        return Error::from_errno(EIO);

    // §4.1.4.4: this queue's doorbell, checked against the notify region.
    const u64 offset = pci::notify_offset(0, common_read16(COMMON(queue_notify_off)), m_notify_multiplier);
    if (offset + 2 > m_notify.length)
        return Error::from_errno(EIO);
    common_write16(COMMON(queue_enable), 1);
    return QueueNotifier{ m_notify.io, m_notify.offset + offset, queue };
}

Result<void> PciTransport::set_config_vector(u16 msix_entry)
{
    common_write16(COMMON(config_msix_vector), msix_entry);
    if (common_read16(COMMON(config_msix_vector)) != msix_entry)
        return Error::from_errno(EIO);
    return {};
}

u8 PciTransport::config_generation() { return common_read8(COMMON(config_generation)); }

u8 PciTransport::device_read8(u32 offset)
{
    return in_device_config(offset, 1) ? m_device.io->read8(m_device.offset + offset) : 0;
}

u16 PciTransport::device_read16(u32 offset)
{
    return in_device_config(offset, 2) ? m_device.io->read16(m_device.offset + offset) : 0;
}

u32 PciTransport::device_read32(u32 offset)
{
    return in_device_config(offset, 4) ? m_device.io->read32(m_device.offset + offset) : 0;
}

u64 PciTransport::device_read64(u32 offset)
{
    const u32 low = device_read32(offset);
    const u32 high = device_read32(offset + 4);
    return (u64(high) << 32) | low;
}

#undef COMMON

} // namespace virtio
