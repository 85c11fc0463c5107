// drivers/virtio wire structures and constants against Linux's own UAPI
// headers (the host's /usr/include/linux/virtio_*.h): sizes, field offsets,
// flag and feature numbers, the legacy vring_size() layout and
// vring_need_event(). Two independent transcriptions of the spec must agree.
#include <gtest/gtest.h>

#include <cstddef>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_pci.h>
// The legacy helpers in this header (vring_init) are C that C++ rejects.
#define VIRTIO_RING_NO_LEGACY
#include <linux/virtio_ring.h>

#include "drivers/virtio/DeviceStatus.h"
#include "drivers/virtio/Features.h"
#include "drivers/virtio/PciCapabilities.h"
#include "drivers/virtio/SplitRing.h"
#include "drivers/virtio/blk/Protocol.h"

#define EXPECT_SAME_OFFSET(ours, field_ours, theirs, field_theirs)                                           \
    EXPECT_EQ(offsetof(ours, field_ours), offsetof(theirs, field_theirs)) << #field_ours

TEST(VirtioWire, SplitRingMatchesLinux)
{
    EXPECT_EQ(sizeof(virtio::Descriptor), sizeof(vring_desc));
    EXPECT_SAME_OFFSET(virtio::Descriptor, addr, vring_desc, addr);
    EXPECT_SAME_OFFSET(virtio::Descriptor, len, vring_desc, len);
    EXPECT_SAME_OFFSET(virtio::Descriptor, flags, vring_desc, flags);
    EXPECT_SAME_OFFSET(virtio::Descriptor, next, vring_desc, next);
    EXPECT_EQ(sizeof(virtio::AvailRing), sizeof(vring_avail));
    EXPECT_SAME_OFFSET(virtio::AvailRing, idx, vring_avail, idx);
    EXPECT_SAME_OFFSET(virtio::AvailRing, ring, vring_avail, ring);
    EXPECT_EQ(sizeof(virtio::UsedElement), sizeof(vring_used_elem));
    EXPECT_SAME_OFFSET(virtio::UsedElement, len, vring_used_elem, len);
    EXPECT_EQ(sizeof(virtio::UsedRing), sizeof(vring_used));
    EXPECT_SAME_OFFSET(virtio::UsedRing, idx, vring_used, idx);
    EXPECT_SAME_OFFSET(virtio::UsedRing, ring, vring_used, ring);

    EXPECT_EQ(virtio::DESC_F_NEXT, VRING_DESC_F_NEXT);
    EXPECT_EQ(virtio::DESC_F_WRITE, VRING_DESC_F_WRITE);
    EXPECT_EQ(virtio::DESC_F_INDIRECT, VRING_DESC_F_INDIRECT);
    EXPECT_EQ(virtio::AVAIL_F_NO_INTERRUPT, VRING_AVAIL_F_NO_INTERRUPT);
    EXPECT_EQ(virtio::USED_F_NO_NOTIFY, VRING_USED_F_NO_NOTIFY);
    EXPECT_EQ(virtio::AVAIL_RING_ALIGN, usize(VRING_AVAIL_ALIGN_SIZE));
    EXPECT_EQ(virtio::USED_RING_ALIGN, usize(VRING_USED_ALIGN_SIZE));

    // Our one-region layout is the legacy contiguous vring (§2.7.2) with the
    // used ring aligned to 64 bytes.
    for (usize size = 1; size <= 32768; size *= 2) {
        const usize used_offset = align_up(sizeof(vring_desc) * size + sizeof(u16) * (3 + size), usize(64));
        EXPECT_EQ(virtio::ring_layout(u16(size)).used_offset, used_offset) << size;
        EXPECT_EQ(virtio::ring_layout(u16(size)).total_bytes,
            used_offset + sizeof(u16) * 3 + sizeof(vring_used_elem) * size)
            << size;
    }
}

TEST(VirtioWire, NeedEventMatchesLinux)
{
    u32 x = 12345;
    for (int i = 0; i < 1000000; i++) {
        x = x * 1103515245 + 12345;
        const u16 event = u16(x >> 8);
        x = x * 1103515245 + 12345;
        const u16 old_idx = u16(x >> 8);
        x = x * 1103515245 + 12345;
        const u16 new_idx = u16(old_idx + ((x >> 8) & (i & 1 ? 0xff : 0xffff)));
        ASSERT_EQ(
            virtio::need_event(event, new_idx, old_idx), bool(vring_need_event(event, new_idx, old_idx)))
            << event << " " << new_idx << " " << old_idx;
    }
}

TEST(VirtioWire, FeatureBitsAndStatusMatchLinux)
{
    EXPECT_EQ(virtio::FEATURE_INDIRECT_DESC, unsigned(VIRTIO_RING_F_INDIRECT_DESC));
    EXPECT_EQ(virtio::FEATURE_EVENT_IDX, unsigned(VIRTIO_RING_F_EVENT_IDX));
    EXPECT_EQ(virtio::FEATURE_VERSION_1, unsigned(VIRTIO_F_VERSION_1));
    EXPECT_EQ(virtio::FEATURE_ACCESS_PLATFORM, unsigned(VIRTIO_F_ACCESS_PLATFORM));
    EXPECT_EQ(virtio::FEATURE_RING_PACKED, unsigned(VIRTIO_F_RING_PACKED));
    EXPECT_EQ(virtio::FEATURE_IN_ORDER, unsigned(VIRTIO_F_IN_ORDER));
    EXPECT_EQ(virtio::FEATURE_ORDER_PLATFORM, unsigned(VIRTIO_F_ORDER_PLATFORM));
    EXPECT_EQ(virtio::FEATURE_SR_IOV, unsigned(VIRTIO_F_SR_IOV));
    EXPECT_EQ(virtio::FEATURE_RING_RESET, unsigned(VIRTIO_F_RING_RESET));

    EXPECT_EQ(virtio::STATUS_ACKNOWLEDGE, VIRTIO_CONFIG_S_ACKNOWLEDGE);
    EXPECT_EQ(virtio::STATUS_DRIVER, VIRTIO_CONFIG_S_DRIVER);
    EXPECT_EQ(virtio::STATUS_DRIVER_OK, VIRTIO_CONFIG_S_DRIVER_OK);
    EXPECT_EQ(virtio::STATUS_FEATURES_OK, VIRTIO_CONFIG_S_FEATURES_OK);
    EXPECT_EQ(virtio::STATUS_DEVICE_NEEDS_RESET, VIRTIO_CONFIG_S_NEEDS_RESET);
    EXPECT_EQ(virtio::STATUS_FAILED, VIRTIO_CONFIG_S_FAILED);

    // Negotiation: only the intersection, and nothing at all without VERSION_1.
    const u64 device = virtio::feature_bit(virtio::FEATURE_VERSION_1)
        | virtio::feature_bit(virtio::FEATURE_EVENT_IDX) | virtio::feature_bit(virtio::FEATURE_RING_PACKED);
    const u64 driver = virtio::feature_bit(virtio::FEATURE_VERSION_1)
        | virtio::feature_bit(virtio::FEATURE_EVENT_IDX) | virtio::feature_bit(virtio::FEATURE_INDIRECT_DESC);
    EXPECT_EQ(virtio::negotiate_features(device, driver),
        virtio::feature_bit(virtio::FEATURE_VERSION_1) | virtio::feature_bit(virtio::FEATURE_EVENT_IDX));
    EXPECT_EQ(virtio::negotiate_features(virtio::feature_bit(virtio::FEATURE_EVENT_IDX), driver), 0u);
}

TEST(VirtioWire, PciCapabilitiesMatchLinux)
{
    EXPECT_EQ(sizeof(virtio::pci::Capability), sizeof(virtio_pci_cap));
    EXPECT_SAME_OFFSET(virtio::pci::Capability, cfg_type, virtio_pci_cap, cfg_type);
    EXPECT_SAME_OFFSET(virtio::pci::Capability, bar, virtio_pci_cap, bar);
    EXPECT_SAME_OFFSET(virtio::pci::Capability, id, virtio_pci_cap, id);
    EXPECT_SAME_OFFSET(virtio::pci::Capability, offset, virtio_pci_cap, offset);
    EXPECT_SAME_OFFSET(virtio::pci::Capability, length, virtio_pci_cap, length);
    EXPECT_EQ(sizeof(virtio::pci::NotifyCapability), sizeof(virtio_pci_notify_cap));
    EXPECT_SAME_OFFSET(
        virtio::pci::NotifyCapability, notify_off_multiplier, virtio_pci_notify_cap, notify_off_multiplier);

    using Common = virtio::pci::CommonConfig;
    EXPECT_SAME_OFFSET(Common, device_feature_select, virtio_pci_common_cfg, device_feature_select);
    EXPECT_SAME_OFFSET(Common, device_feature, virtio_pci_common_cfg, device_feature);
    EXPECT_SAME_OFFSET(Common, driver_feature_select, virtio_pci_common_cfg, guest_feature_select);
    EXPECT_SAME_OFFSET(Common, driver_feature, virtio_pci_common_cfg, guest_feature);
    EXPECT_SAME_OFFSET(Common, config_msix_vector, virtio_pci_common_cfg, msix_config);
    EXPECT_SAME_OFFSET(Common, num_queues, virtio_pci_common_cfg, num_queues);
    EXPECT_SAME_OFFSET(Common, device_status, virtio_pci_common_cfg, device_status);
    EXPECT_SAME_OFFSET(Common, config_generation, virtio_pci_common_cfg, config_generation);
    EXPECT_SAME_OFFSET(Common, queue_select, virtio_pci_common_cfg, queue_select);
    EXPECT_SAME_OFFSET(Common, queue_size, virtio_pci_common_cfg, queue_size);
    EXPECT_SAME_OFFSET(Common, queue_msix_vector, virtio_pci_common_cfg, queue_msix_vector);
    EXPECT_SAME_OFFSET(Common, queue_enable, virtio_pci_common_cfg, queue_enable);
    EXPECT_SAME_OFFSET(Common, queue_notify_off, virtio_pci_common_cfg, queue_notify_off);
    EXPECT_SAME_OFFSET(Common, queue_desc, virtio_pci_common_cfg, queue_desc_lo);
    EXPECT_SAME_OFFSET(Common, queue_driver, virtio_pci_common_cfg, queue_avail_lo);
    EXPECT_SAME_OFFSET(Common, queue_device, virtio_pci_common_cfg, queue_used_lo);
    EXPECT_EQ(virtio::pci::COMMON_CONFIG_MIN_LENGTH, sizeof(virtio_pci_common_cfg));

    EXPECT_EQ(u8(virtio::pci::CapabilityType::Common), VIRTIO_PCI_CAP_COMMON_CFG);
    EXPECT_EQ(u8(virtio::pci::CapabilityType::Notify), VIRTIO_PCI_CAP_NOTIFY_CFG);
    EXPECT_EQ(u8(virtio::pci::CapabilityType::Isr), VIRTIO_PCI_CAP_ISR_CFG);
    EXPECT_EQ(u8(virtio::pci::CapabilityType::Device), VIRTIO_PCI_CAP_DEVICE_CFG);
    EXPECT_EQ(u8(virtio::pci::CapabilityType::PciConfig), VIRTIO_PCI_CAP_PCI_CFG);
    EXPECT_EQ(virtio::pci::NO_VECTOR, VIRTIO_MSI_NO_VECTOR);
    EXPECT_EQ(virtio::pci::ISR_CONFIG, VIRTIO_PCI_ISR_CONFIG);
    EXPECT_EQ(virtio::pci::DEVICE_TYPE_BLOCK, VIRTIO_ID_BLOCK);
    EXPECT_EQ(virtio::pci::notify_offset(0x3000, 3, 4), 0x300cu);
}

TEST(VirtioWire, BlockDeviceMatchesLinux)
{
    using Config = virtio::blk::Config;
    EXPECT_SAME_OFFSET(Config, capacity, virtio_blk_config, capacity);
    EXPECT_SAME_OFFSET(Config, size_max, virtio_blk_config, size_max);
    EXPECT_SAME_OFFSET(Config, seg_max, virtio_blk_config, seg_max);
    EXPECT_SAME_OFFSET(Config, geometry, virtio_blk_config, geometry);
    EXPECT_SAME_OFFSET(Config, blk_size, virtio_blk_config, blk_size);
    EXPECT_SAME_OFFSET(Config, topology.physical_block_exp, virtio_blk_config, physical_block_exp);
    EXPECT_SAME_OFFSET(Config, topology.min_io_size, virtio_blk_config, min_io_size);
    EXPECT_SAME_OFFSET(Config, topology.opt_io_size, virtio_blk_config, opt_io_size);
    EXPECT_SAME_OFFSET(Config, writeback, virtio_blk_config, wce);
    EXPECT_SAME_OFFSET(Config, num_queues, virtio_blk_config, num_queues);
    EXPECT_SAME_OFFSET(Config, max_discard_sectors, virtio_blk_config, max_discard_sectors);
    EXPECT_SAME_OFFSET(Config, max_write_zeroes_seg, virtio_blk_config, max_write_zeroes_seg);
    EXPECT_SAME_OFFSET(Config, write_zeroes_may_unmap, virtio_blk_config, write_zeroes_may_unmap);
    EXPECT_SAME_OFFSET(Config, max_secure_erase_sectors, virtio_blk_config, max_secure_erase_sectors);
    EXPECT_SAME_OFFSET(
        Config, secure_erase_sector_alignment, virtio_blk_config, secure_erase_sector_alignment);

    EXPECT_EQ(sizeof(virtio::blk::RequestHeader), sizeof(virtio_blk_outhdr));
    EXPECT_SAME_OFFSET(virtio::blk::RequestHeader, sector, virtio_blk_outhdr, sector);

    EXPECT_EQ(virtio::blk::FEATURE_SIZE_MAX, unsigned(VIRTIO_BLK_F_SIZE_MAX));
    EXPECT_EQ(virtio::blk::FEATURE_SEG_MAX, unsigned(VIRTIO_BLK_F_SEG_MAX));
    EXPECT_EQ(virtio::blk::FEATURE_GEOMETRY, unsigned(VIRTIO_BLK_F_GEOMETRY));
    EXPECT_EQ(virtio::blk::FEATURE_RO, unsigned(VIRTIO_BLK_F_RO));
    EXPECT_EQ(virtio::blk::FEATURE_BLK_SIZE, unsigned(VIRTIO_BLK_F_BLK_SIZE));
    EXPECT_EQ(virtio::blk::FEATURE_FLUSH, unsigned(VIRTIO_BLK_F_FLUSH));
    EXPECT_EQ(virtio::blk::FEATURE_TOPOLOGY, unsigned(VIRTIO_BLK_F_TOPOLOGY));
    EXPECT_EQ(virtio::blk::FEATURE_CONFIG_WCE, unsigned(VIRTIO_BLK_F_CONFIG_WCE));
    EXPECT_EQ(virtio::blk::FEATURE_MQ, unsigned(VIRTIO_BLK_F_MQ));
    EXPECT_EQ(virtio::blk::FEATURE_DISCARD, unsigned(VIRTIO_BLK_F_DISCARD));
    EXPECT_EQ(virtio::blk::FEATURE_WRITE_ZEROES, unsigned(VIRTIO_BLK_F_WRITE_ZEROES));
    EXPECT_EQ(virtio::blk::FEATURE_SECURE_ERASE, unsigned(VIRTIO_BLK_F_SECURE_ERASE));

    EXPECT_EQ(u32(virtio::blk::REQUEST_IN), u32(VIRTIO_BLK_T_IN));
    EXPECT_EQ(u32(virtio::blk::REQUEST_OUT), u32(VIRTIO_BLK_T_OUT));
    EXPECT_EQ(u32(virtio::blk::REQUEST_FLUSH), u32(VIRTIO_BLK_T_FLUSH));
    EXPECT_EQ(u32(virtio::blk::REQUEST_GET_ID), u32(VIRTIO_BLK_T_GET_ID));
    EXPECT_EQ(u32(virtio::blk::REQUEST_DISCARD), u32(VIRTIO_BLK_T_DISCARD));
    EXPECT_EQ(u32(virtio::blk::REQUEST_WRITE_ZEROES), u32(VIRTIO_BLK_T_WRITE_ZEROES));
    EXPECT_EQ(u32(virtio::blk::REQUEST_SECURE_ERASE), u32(VIRTIO_BLK_T_SECURE_ERASE));
    EXPECT_EQ(virtio::blk::STATUS_OK, VIRTIO_BLK_S_OK);
    EXPECT_EQ(virtio::blk::STATUS_IOERR, VIRTIO_BLK_S_IOERR);
    EXPECT_EQ(virtio::blk::STATUS_UNSUPP, VIRTIO_BLK_S_UNSUPP);
}
