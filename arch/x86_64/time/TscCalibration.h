// Measuring the TSC frequency at boot, so that clock_ns() runs.
#pragma once

#include "kernel/lib/Types.h"

namespace tsc {

// CPUID leaf 0x15 when it states the frequency, else the PIT; calls
// clock_set_tsc_frequency(). Interrupts must be off.
void calibrate();

// Busy-wait (TSC based; needs calibrate()).
void delay_us(u64 us);

} // namespace tsc
