#include "arch/x86_64/apic/Apic.h"

#include "arch/x86_64/PerCpu.h"
#include "arch/x86_64/apic/IoApic.h"
#include "arch/x86_64/apic/Lapic.h"
#include "arch/x86_64/apic/Pic.h"
#include "kernel/irq/Ipi.h"

namespace apic {

void init_boot_cpu()
{
    // The 8259s are there even when the MADT omits PCAT_COMPAT on some
    // firmware; reprogramming absent ones is harmless.
    pic::disable();
    lapic::init_boot();
    lapic::init_this_cpu();
    this_cpu().apic_id = lapic::id();
    ioapic::init();
    ipi::init();
    ipi::mark_this_cpu_online();
}

void init_secondary_cpu()
{
    lapic::init_this_cpu();
    this_cpu().apic_id = lapic::id();
}

} // namespace apic
