// Between the interrupt entry path (arch) and kernel/irq; not for drivers.
#pragma once

#include "kernel/lib/Types.h"

namespace irq {

// Count the interrupt and run the handler bound to (cpu, vector). Returns
// false when no handler is bound.
bool handle_interrupt(u32 cpu, u8 vector);

// Returns once `cpu` has left any interrupt handler it was running when this
// was called (a no-op before the other CPUs are up).
void synchronize_cpu(u32 cpu);

} // namespace irq
