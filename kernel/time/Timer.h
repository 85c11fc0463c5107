// Kernel timers: one-shot, cancellable, per CPU. The callback runs in the
// timer interrupt of the CPU that armed the timer, with interrupts off, so it
// must be short (typically: wake a thread).
#pragma once

#include "kernel/lib/Atomic.h"
#include "kernel/lib/Types.h"

// The scheduler tick: every CPU calls sched::timer_tick() this often. 250 Hz
// (4 ms) keeps the interrupt load small under QEMU's TCG, where every timer
// interrupt costs tens of microseconds, while time slices stay short enough
// for interactive latency; kernel timers do not wait for ticks (each fires at
// its own deadline), so sleeps are not rounded to 4 ms.
constexpr u64 SCHED_TICK_HZ = 250;
constexpr u64 SCHED_TICK_NS = 1000000000ull / SCHED_TICK_HZ;

struct Timer {
    using Callback = void (*)(Timer& timer);

    u64 deadline_ns = 0; // clock_ns() at which to fire
    Callback callback = nullptr;
    void* context = nullptr; // for the owner's use in the callback
    // Owned by kernel/time: queue linkage and state.
    Timer* next = nullptr;
    Atomic<u32> cpu{0};
    Atomic<u8> state{0}; // TimerState (kernel/time/TimerQueue.h)
};

// Arm `timer` on the current CPU to call `callback` at `deadline_ns`.
void timer_arm(Timer& timer, u64 deadline_ns, Timer::Callback callback);
// Returns true if the timer was pending and now will not run. If its callback
// is running on another CPU, waits until it has finished.
bool timer_cancel(Timer& timer);
