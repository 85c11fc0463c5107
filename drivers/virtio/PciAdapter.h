// The virtio transport's view of a function (virtio::PciFunction) on top of
// the kernel's PCI layer (drivers/pci): config space, capability walk, BAR
// mappings as MMIO register windows, and MSI-X entries bound to CPUs.
#pragma once

#include "drivers/pci/Pci.h"
#include "drivers/virtio/PciTransport.h"

namespace virtio {

// One mapped memory BAR, accessed with volatile loads and stores of the
// requested width (uncached mapping: each access reaches the device).
class MmioWindow final : public RegisterIo {
public:
    MmioWindow() = default;
    explicit MmioWindow(volatile u8* base)
        : m_base(base)
    {
    }

    u8 read8(u64 offset) override { return *reinterpret_cast<volatile u8*>(m_base + offset); }
    u16 read16(u64 offset) override { return *reinterpret_cast<volatile u16*>(m_base + offset); }
    u32 read32(u64 offset) override { return *reinterpret_cast<volatile u32*>(m_base + offset); }
    void write8(u64 offset, u8 value) override { *reinterpret_cast<volatile u8*>(m_base + offset) = value; }
    void write16(u64 offset, u16 value) override
    {
        *reinterpret_cast<volatile u16*>(m_base + offset) = value;
    }
    void write32(u64 offset, u32 value) override
    {
        *reinterpret_cast<volatile u32*>(m_base + offset) = value;
    }

private:
    volatile u8* m_base = nullptr;
};

class PciAdapter final : public PciFunction {
public:
    explicit PciAdapter(::pci::Device& device);

    const char* name() override { return m_name; }
    u16 device_id() override { return m_device.device_id; }
    u8 config_read8(u16 offset) override { return m_device.read8(offset); }
    u32 config_read32(u16 offset) override { return m_device.read32(offset); }
    u16 find_capability(u8 id, u16 after) override;
    RegisterIo* map_bar(u8 bar) override;
    u64 bar_size(u8 bar) override;
    void enable_bus_master() override { m_device.enable_memory_and_bus_master(); }
    u16 msix_table_size() override;
    Result<void> enable_msix(const MsixBinding* bindings, u16 count) override;
    void disable_msix() override;

    ::pci::Device& device() { return m_device; }
    // The CPU vector behind MSI-X entry `entry` (for the boot log).
    u8 cpu_vector(u16 entry) const { return m_device.msix_cpu_vector(entry); }

private:
    ::pci::Device& m_device;
    char m_name[16];
    MmioWindow m_windows[6];
    bool m_mapped[6] = {};
    u16 m_bound_entries = 0;
};

} // namespace virtio
