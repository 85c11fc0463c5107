// The wall clock (CLOCK_REALTIME): the CMOS RTC's time at boot plus the
// monotonic clock since then; clock_settime moves it.
#pragma once

#include "kernel/lib/Types.h"

namespace wall_clock {

// Boot, once the TSC is calibrated: read the RTC.
void init();
// Nanoseconds since the Unix epoch.
u64 now_ns();
// clock_settime(CLOCK_REALTIME): from now on now_ns() counts from `ns`.
void set_ns(u64 ns);

} // namespace wall_clock
