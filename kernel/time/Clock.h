// The monotonic clock: nanoseconds since boot, read from the TSC.
//
// Until the TSC is calibrated (arch/x86_64/time/TscCalibration.cpp) clock_ns() returns 0,
// which is what the earliest log lines show.
#pragma once

#include "kernel/lib/Types.h"

u64 clock_ns();
inline u64 clock_us() { return clock_ns() / 1000; }

// Called once by calibration: the TSC frequency and the TSC value at boot.
void clock_set_tsc_frequency(u64 tsc_hz);
u64 tsc_frequency_hz();
u64 tsc_to_ns(u64 tsc_delta);
u64 ns_to_tsc(u64 ns);
// The TSC value at which clock_ns() will read `clock_ns` (for TSC-deadline timers).
u64 clock_ns_to_tsc(u64 clock_ns);
