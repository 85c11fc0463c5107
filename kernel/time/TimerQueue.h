// The per-CPU queue of pending kernel timers (kernel/time/Timer.h), and the
// entry points the architecture's timer interrupt and CPU bring-up use.
#pragma once

#include "kernel/lib/Atomic.h"
#include "kernel/lib/Types.h"
#include "kernel/sync/SpinLock.h"

struct Timer;

// Timer::state values. A timer is on at most one queue, that of Timer::cpu.
//   Idle:    on no queue; the owner may arm or free it.
//   Pending: on its CPU's queue, sorted by deadline.
// Independently, TimerQueue::running names the timer whose callback is
// running on that CPU right now (it may be re-armed from its callback).
enum TimerState : u8 { TIMER_IDLE = 0, TIMER_PENDING = 1 };

struct TimerQueue {
    SpinLock lock{LockRank::Timer, "timer queue"};
    Timer* head = nullptr;       // earliest deadline first
    Atomic<Timer*> running;      // callback in progress on this CPU
    u64 next_tick_ns = 0;        // next scheduler tick
    u64 programmed_ns = 0;       // what the hardware is set to fire at
    Atomic<u64> fired;           // callbacks run (for tests)
    Atomic<u64> ticks;              // scheduler ticks delivered (for tests)
};

namespace timers {

// Boot CPU, after TSC calibration and the local APIC: measure the APIC
// timer, install the timer vector, start this CPU's tick.
void init_boot();
// Each application processor: start its tick and its hardware timer.
void init_this_cpu();
// From the timer interrupt vector.
void handle_interrupt(void*);
// Callbacks run on `cpu` so far.
u64 fired_count(u32 cpu);
// Scheduler ticks on `cpu` (the timer vector also serves kernel timers).
u64 tick_count(u32 cpu);

} // namespace timers
