// Bringing up the application processors the MADT lists (INIT-SIPI-SIPI).
#pragma once

#include "kernel/lib/Types.h"

namespace smp {

// Boot CPU, after ACPI, the local APIC and timers: start every CPU the MADT
// lists as enabled, up to `smp=N` from the command line (default: all), one
// after the other. Each AP ends in sched::start_secondary_cpu(). Returns
// once every AP is online or has timed out.
void init();

} // namespace smp
