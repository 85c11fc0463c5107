// I/O APICs: route global system interrupts (GSIs) to a vector on a CPU.
// Intel 82093AA I/O APIC datasheet §3.2 (registers), and the IOAPICs the
// ACPI MADT lists (ACPI 6.5 §5.2.12.3).
#pragma once

#include "kernel/lib/Result.h"
#include "kernel/lib/Types.h"

namespace ioapic {

// Map every IOAPIC from the MADT and mask all of its inputs.
void init();

// Deliver `gsi` as `vector` to the CPU with `apic_id` (fixed, physical
// destination) and unmask it.
Result<void> route(u32 gsi, u8 vector, u32 apic_id, bool active_low, bool level_triggered);
void mask(u32 gsi);
void unmask(u32 gsi);

} // namespace ioapic
