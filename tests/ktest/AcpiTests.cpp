// ktest suite "acpi": the tables parsed at boot agree with the machine QEMU
// was started as.
#include "arch/x86_64/Cpu.h"
#include "arch/x86_64/acpi/Acpi.h"
#include "tests/ktest/Ktest.h"

namespace {

// QEMU's firmware configuration device (docs/specs/fw_cfg.rst in QEMU):
// select a key on the 16-bit selector port, read its bytes from the data port.
constexpr u16 FW_CFG_SELECTOR_PORT = 0x510;
constexpr u16 FW_CFG_DATA_PORT = 0x511;
constexpr u16 FW_CFG_SIGNATURE = 0x00;
constexpr u16 FW_CFG_NB_CPUS = 0x05;

void fw_cfg_read(u16 key, u8* out, usize length)
{
    x86::outw(FW_CFG_SELECTOR_PORT, key);
    for (usize i = 0; i < length; i++)
        out[i] = x86::inb(FW_CFG_DATA_PORT);
}

// The -smp count QEMU was given, or 0 when not running under QEMU.
u32 qemu_cpu_count()
{
    u8 signature[4];
    fw_cfg_read(FW_CFG_SIGNATURE, signature, 4);
    if (signature[0] != 'Q' || signature[1] != 'E' || signature[2] != 'M' || signature[3] != 'U')
        return 0;
    u8 count[2];
    fw_cfg_read(FW_CFG_NB_CPUS, count, 2);
    return count[0] | (count[1] << 8);
}

} // namespace

KTEST(acpi, madt_cpu_count_matches_qemu)
{
    KASSERT(acpi::available());
    u32 expected = qemu_cpu_count();
    KASSERT(expected != 0);
    KEXPECT_EQ(acpi::processor_count(), static_cast<usize>(expected));
}

KTEST(acpi, madt_apic_ids_are_unique)
{
    for (usize i = 0; i < acpi::processor_count(); i++) {
        for (usize j = i + 1; j < acpi::processor_count(); j++)
            KEXPECT(acpi::processor(i).apic_id != acpi::processor(j).apic_id);
    }
}

KTEST(acpi, io_apic_and_overrides)
{
    KASSERT(acpi::io_apic_count() >= 1);
    KEXPECT_EQ(acpi::io_apic(0).gsi_base, 0u);
    // Every PC chipset QEMU models wires the PIT (ISA IRQ 0) to GSI 2.
    acpi::LegacyIrq timer = acpi::legacy_irq(0);
    KEXPECT_EQ(timer.gsi, 2u);
    KEXPECT(!timer.level_triggered);
    // Lines without an override map 1:1, edge, active high.
    acpi::LegacyIrq com1 = acpi::legacy_irq(4);
    KEXPECT_EQ(com1.gsi, 4u);
    KEXPECT(!com1.active_low);
}

KTEST(acpi, mcfg_has_an_ecam_region)
{
    acpi::EcamRegion regions[4];
    usize count = acpi::ecam_regions(regions, 4);
    KASSERT(count >= 1);
    KEXPECT(regions[0].base != 0);
    KEXPECT((regions[0].base & 0xfffff) == 0); // 1 MiB per bus
    KEXPECT(regions[0].end_bus >= regions[0].start_bus);
}
