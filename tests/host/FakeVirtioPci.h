// A model of a virtio 1.x PCI function for host tests of the transport: a
// configuration space with a capability list (laid out as QEMU does: the
// structures in BAR 4 at 0x0000 common, 0x1000 ISR, 0x2000 device, 0x3000
// notify), and the common configuration's register semantics from virtio 1.2
// §4.1.4.3 (feature windows, queue_select, FEATURES_OK refusal, vectors).
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <vector>

#include "drivers/virtio/DeviceStatus.h"
#include "drivers/virtio/Features.h"
#include "drivers/virtio/PciCapabilities.h"
#include "drivers/virtio/PciTransport.h"

namespace fake {

class VirtioPciFunction : public virtio::PciFunction, public virtio::RegisterIo {
public:
    static constexpr u8 BAR = 4;
    static constexpr u64 BAR_SIZE = 0x4000;
    static constexpr u64 COMMON = 0x0000, ISR = 0x1000, DEVICE = 0x2000, NOTIFY = 0x3000;
    static constexpr u32 NOTIFY_MULTIPLIER = 4;

    struct Queue {
        u16 max_size = 256;
        u16 size = 256;
        u16 vector = virtio::pci::NO_VECTOR;
        u16 enable = 0;
        u64 desc = 0, driver = 0, device = 0;
    };

    VirtioPciFunction(u64 features, u16 queues, std::vector<u8> device_config)
        : device_features(features)
        , queues(queues)
        , device_config(std::move(device_config))
    {
        std::memset(m_config, 0, sizeof(m_config));
        m_config[0x06] = 0x10; // status: capability list
        m_config[0x34] = 0x40;
        // A non-virtio capability first (MSI-X), then the vendor ones, one with
        // a type the driver must skip.
        u8 at = 0x40;
        auto chain = [&](u8 id, u8 len) {
            m_config[at] = id;
            m_config[at + 2] = len;
            const u8 here = at;
            at = u8(at + ((len + 3) & ~3));
            m_config[here + 1] = at;
            return here;
        };
        chain(0x11, 12); // MSI-X (contents irrelevant here)
        vendor_cap(chain(0x09, 16), 5, 0, 0, 0); // PCI config access: skipped
        vendor_cap(chain(0x09, 16), 1, BAR, COMMON, sizeof(virtio::pci::CommonConfig));
        vendor_cap(chain(0x09, 16), 3, BAR, ISR, 1);
        vendor_cap(chain(0x09, 16), 4, BAR, DEVICE, u32(this->device_config.size()));
        const u8 notify = chain(0x09, 20);
        vendor_cap(notify, 2, BAR, NOTIFY, 0x1000);
        put32(notify + 16, NOTIFY_MULTIPLIER);
        // A second common capability in another BAR: the first one wins.
        const u8 last = chain(0x09, 16);
        vendor_cap(last, 1, 2, 0, 0x38);
        m_config[last + 1] = 0;
        for (u16 i = 0; i < queues; i++)
            m_queues.push_back(Queue{});
    }

    // --- PciFunction ---
    const char* name() override { return "00:04.0"; }
    u16 device_id() override { return 0x1042; }
    u8 config_read8(u16 offset) override { return m_config[offset]; }
    u32 config_read32(u16 offset) override
    {
        u32 v;
        std::memcpy(&v, &m_config[offset], 4);
        return v;
    }
    u16 find_capability(u8 id, u16 after) override
    {
        u16 at = after ? m_config[after + 1] : m_config[0x34];
        for (; at; at = m_config[at + 1]) {
            if (m_config[at] == id)
                return at;
        }
        return 0;
    }
    virtio::RegisterIo* map_bar(u8 bar) override { return bar == BAR || bar == 2 ? this : nullptr; }
    u64 bar_size(u8 bar) override { return bar == BAR || bar == 2 ? BAR_SIZE : 0; }
    void enable_bus_master() override { bus_master = true; }
    u16 msix_table_size() override { return msix_entries; }
    Result<void> enable_msix(const virtio::MsixBinding* bindings, u16 count) override
    {
        if (count > msix_entries)
            return Error::from_errno(ENOSPC);
        msix_bindings.assign(bindings, bindings + count);
        return {};
    }
    void disable_msix() override { msix_bindings.clear(); }

    // --- RegisterIo (BAR 4) ---
    u8 read8(u64 offset) override { return u8(read(offset, 1)); }
    u16 read16(u64 offset) override { return u16(read(offset, 2)); }
    u32 read32(u64 offset) override { return u32(read(offset, 4)); }
    void write8(u64 offset, u8 value) override { write(offset, 1, value); }
    void write16(u64 offset, u16 value) override { write(offset, 2, value); }
    void write32(u64 offset, u32 value) override { write(offset, 4, value); }

    Queue& queue(u16 index) { return m_queues.at(index); }

    u64 device_features;
    u64 driver_features = 0;
    u16 queues;
    std::vector<u8> device_config;
    u8 status = 0;
    u8 generation = 0;
    u16 config_vector = virtio::pci::NO_VECTOR;
    u16 msix_entries = 8;
    bool bus_master = false;
    bool refuse_features = false;
    int bump_generation_on_device_reads = 0; // the config "changes" under the next reads
    std::vector<std::pair<u64, u16>> notifications; // (offset in the notify region, value)
    std::vector<virtio::MsixBinding> msix_bindings;
    int resets = 0;

private:
    void vendor_cap(u8 at, u8 type, u8 bar, u32 offset, u32 length)
    {
        m_config[at + 3] = type;
        m_config[at + 4] = bar;
        put32(at + 8, offset);
        put32(at + 12, length);
    }
    void put32(u16 at, u32 v) { std::memcpy(&m_config[at], &v, 4); }

    static bool width_ok(u64 field, unsigned width, unsigned expected)
    {
        EXPECT_EQ(width, expected) << "common config field at " << field << " accessed with the wrong width";
        return width == expected;
    }

    u64 read(u64 offset, unsigned width)
    {
        using C = virtio::pci::CommonConfig;
        if (offset >= DEVICE && offset < DEVICE + 0x1000) {
            const u64 at = offset - DEVICE;
            EXPECT_LE(at + width, device_config.size()) << "read beyond the device configuration";
            EXPECT_EQ(at % width, 0u) << "unaligned device configuration read";
            if (bump_generation_on_device_reads > 0 && --bump_generation_on_device_reads == 0)
                generation++;
            u64 v = 0;
            std::memcpy(&v, &device_config[at], width);
            return v;
        }
        if (offset == ISR) {
            const u8 isr = isr_status;
            isr_status = 0;
            return isr;
        }
        EXPECT_LT(offset, COMMON + sizeof(C)) << "read outside the common configuration";
        Queue* q = m_select < m_queues.size() ? &m_queues[m_select] : nullptr;
        switch (offset) {
        case offsetof(C, device_feature_select):
            return width_ok(offset, width, 4) ? m_device_feature_select : 0;
        case offsetof(C, device_feature):
            width_ok(offset, width, 4);
            return m_device_feature_select == 0 ? u32(device_features)
                : m_device_feature_select == 1  ? u32(device_features >> 32)
                                                : 0;
        case offsetof(C, driver_feature):
            return m_driver_feature_select == 0 ? u32(driver_features) : u32(driver_features >> 32);
        case offsetof(C, config_msix_vector):
            width_ok(offset, width, 2);
            return config_vector;
        case offsetof(C, num_queues):
            width_ok(offset, width, 2);
            return queues;
        case offsetof(C, device_status):
            width_ok(offset, width, 1);
            return status;
        case offsetof(C, config_generation):
            width_ok(offset, width, 1);
            return generation;
        case offsetof(C, queue_select):
            return m_select;
        case offsetof(C, queue_size):
            width_ok(offset, width, 2);
            return q ? q->size : 0;
        case offsetof(C, queue_msix_vector):
            return q ? q->vector : virtio::pci::NO_VECTOR;
        case offsetof(C, queue_enable):
            return q ? q->enable : 0;
        case offsetof(C, queue_notify_off):
            return m_select; // queue i notifies at i * multiplier
        }
        ADD_FAILURE() << "unexpected read of common config offset " << offset;
        return 0;
    }

    void write(u64 offset, unsigned width, u32 value)
    {
        using C = virtio::pci::CommonConfig;
        if (offset >= NOTIFY && offset < NOTIFY + 0x1000) {
            EXPECT_EQ(width, 2u) << "notify written with the wrong width";
            EXPECT_TRUE(status & virtio::STATUS_DRIVER_OK) << "notified before DRIVER_OK";
            notifications.push_back({ offset - NOTIFY, u16(value) });
            return;
        }
        Queue* q = m_select < m_queues.size() ? &m_queues[m_select] : nullptr;
        auto queue_field_writable = [&] {
            EXPECT_TRUE(q) << "queue field written with no queue selected";
            EXPECT_TRUE(q && !q->enable) << "queue reconfigured while enabled";
            EXPECT_TRUE(status & virtio::STATUS_FEATURES_OK) << "queue set up before FEATURES_OK";
            EXPECT_FALSE(status & virtio::STATUS_DRIVER_OK) << "queue set up after DRIVER_OK";
            return q != nullptr;
        };
        switch (offset) {
        case offsetof(C, device_feature_select):
            width_ok(offset, width, 4);
            m_device_feature_select = value;
            return;
        case offsetof(C, driver_feature_select):
            width_ok(offset, width, 4);
            m_driver_feature_select = value;
            return;
        case offsetof(C, driver_feature):
            width_ok(offset, width, 4);
            EXPECT_TRUE(status & virtio::STATUS_DRIVER) << "features written before DRIVER";
            EXPECT_FALSE(status & virtio::STATUS_FEATURES_OK) << "features written after FEATURES_OK";
            if (m_driver_feature_select == 0)
                driver_features = (driver_features & ~0xffffffffull) | value;
            else if (m_driver_feature_select == 1)
                driver_features = (driver_features & 0xffffffffull) | (u64(value) << 32);
            return;
        case offsetof(C, config_msix_vector):
            config_vector = value < msix_entries ? u16(value) : virtio::pci::NO_VECTOR;
            return;
        case offsetof(C, device_status):
            width_ok(offset, width, 1);
            write_status(u8(value));
            return;
        case offsetof(C, queue_select):
            width_ok(offset, width, 2);
            m_select = u16(value);
            return;
        case offsetof(C, queue_size):
            if (queue_field_writable()) {
                EXPECT_LE(value, q->max_size);
                EXPECT_TRUE(value && !(value & (value - 1))) << "queue size not a power of two";
                q->size = u16(value);
            }
            return;
        case offsetof(C, queue_msix_vector):
            if (queue_field_writable())
                q->vector = value < msix_entries ? u16(value) : virtio::pci::NO_VECTOR;
            return;
        case offsetof(C, queue_enable):
            if (queue_field_writable()) {
                EXPECT_EQ(value, 1u);
                EXPECT_NE(q->desc, 0u);
                q->enable = 1;
            }
            return;
        case offsetof(C, queue_desc):
        case offsetof(C, queue_desc) + 4:
        case offsetof(C, queue_driver):
        case offsetof(C, queue_driver) + 4:
        case offsetof(C, queue_device):
        case offsetof(C, queue_device) + 4: {
            width_ok(offset, width, 4);
            if (!queue_field_writable())
                return;
            const u64 base = offset & ~7ull;
            u64& field = base == offsetof(C, queue_desc) ? q->desc
                : base == offsetof(C, queue_driver)      ? q->driver
                                                         : q->device;
            if (offset & 4)
                field = (field & 0xffffffffull) | (u64(value) << 32);
            else
                field = (field & ~0xffffffffull) | value;
            return;
        }
        }
        ADD_FAILURE() << "unexpected write of common config offset " << offset;
    }

    void write_status(u8 value)
    {
        if (value == 0) {
            resets++;
            status = 0;
            driver_features = 0;
            config_vector = virtio::pci::NO_VECTOR;
            for (auto& q : m_queues)
                q = Queue{ q.max_size, q.max_size };
            return;
        }
        EXPECT_EQ(value & status, status) << "driver cleared a status bit";
        const u8 added = value & ~status;
        if (added & virtio::STATUS_FEATURES_OK) {
            const bool subset = (driver_features & ~device_features) == 0;
            const bool modern = driver_features & virtio::feature_bit(virtio::FEATURE_VERSION_1);
            if (!subset || !modern || refuse_features)
                value &= ~virtio::STATUS_FEATURES_OK;
        }
        status = value;
    }

    u8 m_config[256];
    std::vector<Queue> m_queues;
    u16 m_select = 0;
    u32 m_device_feature_select = 0;
    u32 m_driver_feature_select = 0;
    u8 isr_status = 0;
};

} // namespace fake
