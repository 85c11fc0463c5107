#include "kernel/time/WallClock.h"

#include "arch/x86_64/time/Rtc.h"
#include "kernel/lib/Atomic.h"
#include "kernel/log/Log.h"
#include "kernel/time/Clock.h"

namespace wall_clock {
namespace {

// now_ns() = clock_ns() + offset. One word, so a reader never sees half an
// update.
Atomic<u64> g_offset_ns{0};

} // namespace

void init()
{
    u64 seconds = rtc::read_epoch_seconds();
    u64 now = clock_ns();
    g_offset_ns.store(seconds * 1'000'000'000ul - now, MemoryOrder::Release);
    log_info("time", "wall clock from the RTC: %lu s since the epoch", seconds);
}

u64 now_ns() { return clock_ns() + g_offset_ns.load(MemoryOrder::Acquire); }

void set_ns(u64 ns) { g_offset_ns.store(ns - clock_ns(), MemoryOrder::Release); }

} // namespace wall_clock
