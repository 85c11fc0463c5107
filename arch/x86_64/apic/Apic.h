// Interrupt controller bring-up: local APIC on every CPU; on the boot CPU
// also the 8259s (masked), the IOAPICs and the IPI handlers.
#pragma once

namespace apic {

// Boot CPU, after ACPI (the MADT names the IOAPICs).
void init_boot_cpu();
// Each application processor, after its GDT/IDT and per-CPU data. The CPU
// takes IPIs once it calls ipi::mark_this_cpu_online().
void init_secondary_cpu();

} // namespace apic
