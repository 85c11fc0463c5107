// The scheduler: per-CPU run queues with round-robin time slices, preemption
// from the timer interrupt, an idle thread per CPU, wake-ups across CPUs with
// a reschedule IPI, simple load balancing and CPU pinning.
//
// Threads themselves are in kernel/sched/Thread.h; the sleeping primitives
// built on top (wait queues, mutexes, completions) in kernel/sync.
#pragma once

#include "kernel/lib/Types.h"
#include "kernel/sched/ThreadState.h"

class Thread;

namespace sched {

// A round-robin time slice: a thread that ran this long is preempted at the
// next scheduler tick if another thread is waiting for its CPU.
constexpr u64 TIME_SLICE_NS = 10'000'000;
// A thread woken on a busy CPU, with nobody else queued there, preempts the
// current thread once that one has run this long in its slice.
constexpr u64 WAKEUP_PREEMPT_NS = 1'000'000;

// Boot CPU, first thing after per-CPU data: the running boot context becomes
// a thread (current_thread() is valid from here on); it is CPU 0's idle
// thread once sched::start() runs.
void init();
// Boot CPU, end of kernel_main: run `init_main` in a new "init" thread once
// every CPU has joined the scheduler, and turn this context into CPU 0's idle
// loop.
[[noreturn]] void start(void (*init_main)());

// Give up the CPU. If the current thread is Runnable it is queued at the back
// of its run queue; if it is Blocked or Dead it stays off the run queues.
// Must not be called with preemption disabled (panics in debug builds).
void schedule();
// Let other Runnable threads on this CPU run first.
void yield();

// Mark the current thread Blocked or Runnable (see ThreadState). Blocked must
// be followed by a test of the wake condition and schedule().
void set_current_state(ThreadState state);

// Make a Blocked thread Runnable, queueing it on a CPU (its pin, else its last
// CPU unless another is less loaded) and kicking that CPU with a reschedule
// IPI if it is idle. Callable from any context. Returns false if the thread
// was not Blocked.
bool wake_up(Thread& thread);

// Sleep until clock_ns() >= deadline_ns / for `duration_ns` (kernel timers).
void sleep_until(u64 deadline_ns);
void sleep_for(u64 duration_ns);
// The same, ending early when the thread has a signal pending
// (Thread::signal_pending). Returns true if the deadline was reached.
bool sleep_until_interruptible(u64 deadline_ns);
// clock_ns() + timeout_ns, saturating.
u64 deadline_after(u64 timeout_ns);

// CPUs that have joined the scheduler.
u32 cpu_count();
// Runnable threads accounted to `cpu` (queued + running, idle excluded).
u32 load(u32 cpu);

// Per-CPU counters for tests and /proc.
struct CpuStats {
    u64 context_switches;
    u64 preemptions; // switches forced from the timer interrupt
    u64 pulled;      // threads this CPU took from a busier one
    u64 ticks;
};
CpuStats cpu_stats(u32 cpu);

// Print every CPU's current thread and run queue (diagnostics, racy).
void dump_state();
void dump_thread(Thread& thread);

} // namespace sched
