#include "drivers/pci/Config.h"

#include "arch/x86_64/Cpu.h"
#include "arch/x86_64/mm/Mmio.h"
#include "arch/x86_64/acpi/Acpi.h"
#include "kernel/log/Log.h"
#include "kernel/sync/SpinLock.h"

namespace pci {

namespace {

constexpr usize MAX_ECAM_REGIONS = 4;
constexpr usize ECAM_BUS_BYTES = 1u << 20; // 32 devices x 8 functions x 4 KiB
constexpr u16 LEGACY_ADDRESS_PORT = 0xcf8;
constexpr u16 LEGACY_DATA_PORT = 0xcfc;

struct EcamRegion {
    acpi::EcamRegion region;
    u8* bus_mapping[256]; // mapped on first use, one MiB per bus
};

EcamRegion g_regions[MAX_ECAM_REGIONS];
usize g_region_count = 0;
SpinLock g_legacy_lock{LockRank::HardwareWindow, "pci legacy config"}; // the 0xcf8/0xcfc pair is one shared register window
SpinLock g_map_lock{LockRank::PciConfig, "pci ecam map"};

volatile u8* ecam_address(Address a, u16 offset)
{
    for (usize i = 0; i < g_region_count; i++) {
        EcamRegion& r = g_regions[i];
        if (r.region.segment != a.segment || a.bus < r.region.start_bus || a.bus > r.region.end_bus)
            continue;
        u8*& mapping = r.bus_mapping[a.bus];
        if (!mapping) {
            SpinLockGuard guard(g_map_lock);
            if (!mapping) {
                const PhysAddr phys = r.region.base + (PhysAddr(a.bus - r.region.start_bus) << 20);
                mapping = static_cast<u8*>(mm::map_mmio(phys, ECAM_BUS_BYTES));
            }
            if (!mapping)
                return nullptr;
        }
        return mapping + (u32(a.device) << 15 | u32(a.function) << 12 | offset);
    }
    return nullptr;
}

u32 legacy_address(Address a, u16 offset)
{
    return 0x8000'0000u | u32(a.bus) << 16 | u32(a.device) << 11 | u32(a.function) << 8 | (offset & 0xfc);
}

} // namespace

void init_config_access()
{
    acpi::EcamRegion regions[MAX_ECAM_REGIONS];
    const usize count = min(acpi::ecam_regions(regions, MAX_ECAM_REGIONS), MAX_ECAM_REGIONS);
    for (usize i = 0; i < count; i++) {
        g_regions[i].region = regions[i];
        log_info("pci", "ECAM segment %u buses %02x-%02x at 0x%lx", regions[i].segment, regions[i].start_bus,
                 regions[i].end_bus, regions[i].base);
    }
    g_region_count = count;
    if (!count)
        log_warn("pci", "no MCFG: legacy configuration ports, first 256 bytes only");
}

bool using_ecam() { return g_region_count != 0; }

u32 read32(Address a, u16 offset)
{
    if (volatile u8* p = ecam_address(a, offset))
        return *reinterpret_cast<volatile u32*>(p);
    if (offset >= 256)
        return ~0u;
    SpinLockGuard guard(g_legacy_lock);
    x86::outl(LEGACY_ADDRESS_PORT, legacy_address(a, offset));
    return x86::inl(LEGACY_DATA_PORT);
}

u16 read16(Address a, u16 offset)
{
    if (volatile u8* p = ecam_address(a, offset))
        return *reinterpret_cast<volatile u16*>(p);
    return static_cast<u16>(read32(a, offset & ~3) >> ((offset & 2) * 8));
}

u8 read8(Address a, u16 offset)
{
    if (volatile u8* p = ecam_address(a, offset))
        return *p;
    return static_cast<u8>(read32(a, offset & ~3) >> ((offset & 3) * 8));
}

void write32(Address a, u16 offset, u32 value)
{
    if (volatile u8* p = ecam_address(a, offset)) {
        *reinterpret_cast<volatile u32*>(p) = value;
        return;
    }
    if (offset >= 256)
        return;
    SpinLockGuard guard(g_legacy_lock);
    x86::outl(LEGACY_ADDRESS_PORT, legacy_address(a, offset));
    x86::outl(LEGACY_DATA_PORT, value);
}

void write16(Address a, u16 offset, u16 value)
{
    if (volatile u8* p = ecam_address(a, offset)) {
        *reinterpret_cast<volatile u16*>(p) = value;
        return;
    }
    if (offset >= 256)
        return;
    SpinLockGuard guard(g_legacy_lock);
    x86::outl(LEGACY_ADDRESS_PORT, legacy_address(a, offset));
    x86::outw(static_cast<u16>(LEGACY_DATA_PORT + (offset & 2)), value);
}

} // namespace pci
