// Bringing up interrupt handling on a CPU: GDT/TSS (IST stacks), IDT, and the
// panic hooks that need them.
#pragma once

#include "kernel/lib/Types.h"

namespace interrupts {

// Boot CPU, right after per-CPU data and the boot information: from here on a
// CPU exception prints a report instead of resetting the machine.
void init_boot_cpu();
// An application processor, first thing in C++.
void init_secondary_cpu(u32 cpu);

} // namespace interrupts
