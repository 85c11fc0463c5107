// drivers/virtio/PciTransport against a model of a virtio-blk PCI function:
// capability discovery, the §3.1.1 initialization sequence, feature
// negotiation and refusal, queue setup with MSI-X vectors and notify
// addresses, consistent device-configuration snapshots.
#include <gtest/gtest.h>

#include <cstring>

#include "drivers/virtio/DeviceStatus.h"
#include "drivers/virtio/Features.h"
#include "drivers/virtio/PciTransport.h"
#include "drivers/virtio/blk/Command.h"
#include "drivers/virtio/blk/DeviceConfig.h"
#include "tests/host/FakeVirtioDevice.h"
#include "tests/host/FakeVirtioPci.h"

using fake::VirtioPciFunction;
using virtio::feature_bit;
using virtio::PciTransport;

namespace {

std::vector<u8> blk_config(u64 capacity, u32 seg_max, u32 blk_size, u16 num_queues)
{
    virtio::blk::Config c{};
    c.capacity = capacity;
    c.seg_max = seg_max;
    c.blk_size = blk_size;
    c.num_queues = num_queues;
    c.size_max = 0x12345;
    c.topology.physical_block_exp = 3;
    std::vector<u8> bytes(sizeof(c));
    std::memcpy(bytes.data(), &c, sizeof(c));
    return bytes;
}

u64 qemu_blk_features()
{
    using namespace virtio::blk;
    return feature_bit(virtio::FEATURE_VERSION_1) | feature_bit(virtio::FEATURE_INDIRECT_DESC)
        | feature_bit(virtio::FEATURE_EVENT_IDX) | feature_bit(virtio::FEATURE_RING_PACKED)
        | feature_bit(FEATURE_SEG_MAX) | feature_bit(FEATURE_BLK_SIZE) | feature_bit(FEATURE_FLUSH)
        | feature_bit(FEATURE_TOPOLOGY) | feature_bit(FEATURE_MQ) | feature_bit(FEATURE_CONFIG_WCE)
        | feature_bit(FEATURE_DISCARD) | feature_bit(FEATURE_WRITE_ZEROES) | feature_bit(FEATURE_GEOMETRY);
}

} // namespace

TEST(VirtioPciTransport, ProbeFindsTheFirstUsableStructureOfEachType)
{
    VirtioPciFunction function(qemu_blk_features(), 4, blk_config(1 << 20, 254, 512, 4));
    auto probed = PciTransport::probe(function);
    ASSERT_FALSE(probed.is_error());
    PciTransport& t = probed.value();
    EXPECT_EQ(t.common().bar, VirtioPciFunction::BAR);
    EXPECT_EQ(t.common().offset, VirtioPciFunction::COMMON);
    EXPECT_EQ(t.common().length, sizeof(virtio::pci::CommonConfig));
    EXPECT_EQ(t.isr().offset, VirtioPciFunction::ISR);
    EXPECT_EQ(t.device_config().offset, VirtioPciFunction::DEVICE);
    EXPECT_EQ(t.device_config().length, sizeof(virtio::blk::Config));
    EXPECT_EQ(t.notify_region().offset, VirtioPciFunction::NOTIFY);
    EXPECT_EQ(t.notify_off_multiplier(), VirtioPciFunction::NOTIFY_MULTIPLIER);
}

TEST(VirtioPciTransport, ProbeRefusesFunctionsWithoutTheModernStructures)
{
    // A legacy-only device: the same function with its vendor capabilities gone.
    struct Legacy : VirtioPciFunction {
        using VirtioPciFunction::VirtioPciFunction;
        u16 find_capability(u8 id, u16 after) override
        {
            return id == 0x09 ? 0 : VirtioPciFunction::find_capability(id, after);
        }
    } legacy(qemu_blk_features(), 1, blk_config(8, 1, 512, 1));
    auto probed = PciTransport::probe(legacy);
    ASSERT_TRUE(probed.is_error());
    EXPECT_EQ(probed.error().code(), ENODEV);

    // Capabilities pointing outside their BAR are ignored, too.
    struct TinyBar : VirtioPciFunction {
        using VirtioPciFunction::VirtioPciFunction;
        u64 bar_size(u8) override { return 0x1000; } // notify at 0x3000 no longer fits
    } tiny(qemu_blk_features(), 1, blk_config(8, 1, 512, 1));
    EXPECT_EQ(PciTransport::probe(tiny).error().code(), ENODEV);
}

TEST(VirtioPciTransport, InitializationSequenceAndQueueSetup)
{
    VirtioPciFunction function(qemu_blk_features(), 4, blk_config(1 << 20, 254, 4096, 4));
    function.queue(2).max_size = 128;
    PciTransport t = PciTransport::probe(function).release_value();

    function.status
        = virtio::STATUS_DRIVER_OK | virtio::STATUS_ACKNOWLEDGE | virtio::STATUS_DRIVER; // left by firmware
    ASSERT_FALSE(t.reset().is_error());
    EXPECT_EQ(function.resets, 1);
    EXPECT_EQ(t.status(), 0);
    t.add_status(virtio::STATUS_ACKNOWLEDGE);
    t.add_status(virtio::STATUS_DRIVER);
    EXPECT_EQ(t.device_features(), qemu_blk_features());

    auto negotiated = t.negotiate(virtio::blk::driver_features());
    ASSERT_FALSE(negotiated.is_error());
    EXPECT_EQ(function.driver_features, negotiated.value());
    EXPECT_EQ(negotiated.value(), qemu_blk_features() & virtio::blk::driver_features());
    EXPECT_FALSE(virtio::has_feature(function.driver_features, virtio::FEATURE_RING_PACKED));
    EXPECT_TRUE(function.status & virtio::STATUS_FEATURES_OK);

    virtio::blk::Config config;
    ASSERT_TRUE(virtio::blk::read_config(t, negotiated.value(), config));
    EXPECT_EQ(config.capacity, 1u << 20);
    EXPECT_EQ(config.seg_max, 254u);
    EXPECT_EQ(config.blk_size, 4096u);
    EXPECT_EQ(config.num_queues, 4u);
    EXPECT_EQ(config.size_max, 0u) << "SIZE_MAX was not offered: its field must not be used";
    EXPECT_EQ(config.topology.physical_block_exp, 3u);

    EXPECT_EQ(t.num_queues(), 4u);
    EXPECT_EQ(t.queue_max_size(0), 256u);
    EXPECT_EQ(t.queue_max_size(2), 128u);
    EXPECT_EQ(t.queue_max_size(9), 0u);

    // Queue 2 with a smaller ring than the device's maximum, on MSI-X entry 3.
    fake::QueueFixture q(64, true, 8);
    auto notifier = t.enable_queue(2, q.queue, 3);
    ASSERT_FALSE(notifier.is_error());
    EXPECT_EQ(function.queue(2).size, 64u);
    EXPECT_EQ(function.queue(2).vector, 3u);
    EXPECT_EQ(function.queue(2).enable, 1u);
    EXPECT_EQ(function.queue(2).desc, q.queue.descriptor_table_phys());
    EXPECT_EQ(function.queue(2).driver, q.queue.driver_area_phys());
    EXPECT_EQ(function.queue(2).device, q.queue.device_area_phys());
    EXPECT_GT(function.queue(2).desc, 0xffffffffu >> 4); // the high halves were written too
    // A ring larger than the device allows, a queue that does not exist, twice the same queue.
    fake::QueueFixture big(256, true, 8);
    EXPECT_EQ(t.enable_queue(2, big.queue, 3).error().code(), EINVAL);
    EXPECT_EQ(t.enable_queue(7, q.queue, 3).error().code(), EINVAL);
    EXPECT_EQ(t.enable_queue(2, q.queue, 3).error().code(), EINVAL);
    // An MSI-X entry beyond the table is refused by the device.
    EXPECT_EQ(t.enable_queue(1, q.queue, 100).error().code(), EIO);
    ASSERT_FALSE(t.set_config_vector(0).is_error());
    EXPECT_EQ(function.config_vector, 0u);
    EXPECT_EQ(t.set_config_vector(200).error().code(), EIO);

    t.driver_ok();
    EXPECT_EQ(function.status,
        virtio::STATUS_ACKNOWLEDGE | virtio::STATUS_DRIVER | virtio::STATUS_FEATURES_OK
            | virtio::STATUS_DRIVER_OK);
    notifier.value().notify();
    ASSERT_EQ(function.notifications.size(), 1u);
    EXPECT_EQ(function.notifications[0].first, 2u * VirtioPciFunction::NOTIFY_MULTIPLIER);
    EXPECT_EQ(function.notifications[0].second, 2u);
}

TEST(VirtioPciTransport, FeatureNegotiationFailures)
{
    // No VERSION_1: a legacy device, refused before anything is written.
    VirtioPciFunction legacy(
        qemu_blk_features() & ~feature_bit(virtio::FEATURE_VERSION_1), 1, blk_config(8, 1, 512, 1));
    PciTransport t = PciTransport::probe(legacy).release_value();
    ASSERT_FALSE(t.reset().is_error());
    t.add_status(virtio::STATUS_ACKNOWLEDGE | virtio::STATUS_DRIVER);
    EXPECT_EQ(t.negotiate(virtio::blk::driver_features()).error().code(), ENODEV);
    EXPECT_FALSE(legacy.status & virtio::STATUS_FEATURES_OK);

    // The device clears FEATURES_OK: it cannot work with our subset.
    VirtioPciFunction picky(qemu_blk_features(), 1, blk_config(8, 1, 512, 1));
    picky.refuse_features = true;
    PciTransport p = PciTransport::probe(picky).release_value();
    ASSERT_FALSE(p.reset().is_error());
    p.add_status(virtio::STATUS_ACKNOWLEDGE | virtio::STATUS_DRIVER);
    EXPECT_EQ(p.negotiate(virtio::blk::driver_features()).error().code(), EIO);
    p.fail();
    EXPECT_TRUE(picky.status & virtio::STATUS_FAILED);
}

TEST(VirtioPciTransport, ResetThatNeverCompletesTimesOut)
{
    struct Stuck : VirtioPciFunction {
        using VirtioPciFunction::VirtioPciFunction;
        u8 read8(u64 offset) override
        {
            return offset == offsetof(virtio::pci::CommonConfig, device_status)
                ? 1
                : VirtioPciFunction::read8(offset);
        }
    } stuck(qemu_blk_features(), 1, blk_config(8, 1, 512, 1));
    PciTransport t = PciTransport::probe(stuck).release_value();
    EXPECT_EQ(t.reset().error().code(), ETIMEDOUT);
}

TEST(VirtioPciTransport, ConfigurationReadRetriesWhenGenerationChanges)
{
    VirtioPciFunction function(qemu_blk_features(), 1, blk_config(4096, 64, 512, 1));
    PciTransport t = PciTransport::probe(function).release_value();
    const u64 negotiated = qemu_blk_features() & virtio::blk::driver_features();
    // The generation changes between the two halves of `capacity`: the reader
    // must go round again and return the new, consistent value.
    function.bump_generation_on_device_reads = 1;
    virtio::blk::Config config;
    u64 capacity_reads = 0;
    ASSERT_TRUE(t.read_device_config([&] {
        capacity_reads++;
        config.capacity = t.device_read64(0);
    }));
    EXPECT_EQ(capacity_reads, 2u);
    EXPECT_EQ(config.capacity, 4096u);
    ASSERT_TRUE(virtio::blk::read_config(t, negotiated, config));
    EXPECT_EQ(config.seg_max, 64u);

    // Reads past a short (older) configuration structure return 0.
    VirtioPciFunction short_config(qemu_blk_features(), 1, std::vector<u8>(24, 0xff));
    PciTransport s = PciTransport::probe(short_config).release_value();
    EXPECT_EQ(s.device_read16(offsetof(virtio::blk::Config, num_queues)), 0u);
    EXPECT_EQ(s.device_read32(offsetof(virtio::blk::Config, blk_size)), 0xffffffffu);
}
