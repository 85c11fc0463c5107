// Stand-ins for the kernel timer API (kernel/time/Timer.h) until the timer
// code is in the kernel; the real definitions override these.
#include "kernel/debug/Panic.h"
#include "kernel/time/Timer.h"

[[gnu::weak]] void timer_arm(Timer&, u64, Timer::Callback) { panic("kernel timers are not available yet"); }

[[gnu::weak]] bool timer_cancel(Timer&) { return false; }
