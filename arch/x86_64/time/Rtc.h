// The CMOS real-time clock (MC146818 and compatibles, as on every PC and in
// QEMU): read once at boot for the wall clock.
#pragma once

#include "kernel/lib/Types.h"

namespace rtc {

// Seconds since the Unix epoch (UTC, as QEMU's -rtc base=utc default and
// Linux's assumption for a PC whose clock is not in local time), or 0 if the
// clock reads nonsense.
u64 read_epoch_seconds();

} // namespace rtc
