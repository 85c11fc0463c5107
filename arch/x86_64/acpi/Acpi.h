// ACPI: the firmware's description of the machine. Boot parses RSDP -> XSDT
// (RSDT on ACPI 1.0 firmware) -> MADT (CPUs, IOAPICs, interrupt overrides),
// MCFG (PCIe ECAM regions) and FADT (power-off, reset), and registers ACPI S5
// soft-off with kernel/power.
#pragma once

#include "arch/x86_64/acpi/Tables.h"
#include "kernel/lib/Types.h"

namespace acpi {

// Parse everything from the RSDP copy in boot_info(); logs a short summary.
// Without ACPI (no RSDP), the queries below return empty answers.
void init();
bool available();

// Any table by signature ("HPET", "SSDT", ...); `index` picks among several
// with the same signature. The table is mapped for as long as the kernel runs.
const SdtHeader* find_table(const char* signature, usize index = 0);

// MADT: the local APICs the firmware lists as enabled (or online-capable),
// in MADT order (the boot CPU is listed first by convention, not by rule).
struct Processor {
    u32 apic_id;
    u32 processor_uid;
};
usize processor_count();
const Processor& processor(usize index);
PhysAddr local_apic_address();

struct IoApic {
    u8 id;
    PhysAddr address;
    u32 gsi_base;
};
usize io_apic_count();
const IoApic& io_apic(usize index);

// Where an ISA interrupt line arrives after the MADT's Interrupt Source
// Overrides (§5.2.12.5); without an override it is the same-numbered GSI,
// edge-triggered, active high.
struct LegacyIrq {
    u32 gsi;
    bool active_low;
    bool level_triggered;
};
LegacyIrq legacy_irq(u8 isa_irq);
// Whether the MADT says 8259 PICs are present (PCAT_COMPAT) and need masking.
bool has_8259();

// MCFG: the PCIe Enhanced Configuration Access Mechanism regions. The config
// space of bus b, device d, function f is at base + ((b - start_bus) << 20 |
// d << 15 | f << 12). Fills up to `max` entries; returns how many exist.
struct EcamRegion {
    PhysAddr base;
    u16 segment;
    u8 start_bus;
    u8 end_bus;
};
usize ecam_regions(EcamRegion* out, usize max);

// FADT: the SCI line and soft-off/reset.
u16 sci_interrupt();
// ACPI S5 (soft-off). Returns only if it did not work.
void enter_s5();
// The FADT reset register (§4.8.3.6); returns only if there is none or it did not work.
void reset();

} // namespace acpi
