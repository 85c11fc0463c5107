// The per-CPU event source behind kernel/time's timers: the local APIC timer
// in TSC-deadline mode when the CPU has it, else in one-shot mode with its
// rate measured against the TSC.
#pragma once

#include "kernel/lib/Types.h"

namespace lapic_timer {

// Boot CPU, once, after TSC calibration and the local APIC.
void calibrate();
// Interrupt at clock_ns() == deadline_ns (or as soon as possible if past).
void program(u64 deadline_ns);

} // namespace lapic_timer
