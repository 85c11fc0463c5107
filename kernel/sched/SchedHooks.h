// The calls the interrupt and SMP code (arch, kernel/time) make into the
// scheduler. The scheduler defines them; kernel/sched/SchedHooksWeak.cpp has
// do-nothing versions so a kernel without a scheduler still links.
#pragma once

namespace sched {

// From the timer interrupt, on every CPU, every scheduler tick (interrupts off).
void timer_tick();
// On return from an interrupt when this_cpu().need_resched is set and
// this_cpu().preempt_count is 0: may switch to another thread.
void preempt_on_interrupt_return();
// On each application processor once its GDT/IDT/TSS, per-CPU data and LAPIC
// are up: join the scheduler and never return.
[[noreturn]] void start_secondary_cpu();

} // namespace sched
