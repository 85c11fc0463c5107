// The Interrupt Descriptor Table: one table shared by all CPUs (the handlers
// look up per-CPU state themselves), loaded on each CPU.
#pragma once

#include "kernel/lib/Types.h"

namespace idt {

// Build the table (boot CPU, once).
void init();
// Load it on the calling CPU.
void load();

} // namespace idt
