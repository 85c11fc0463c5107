// Fallbacks for kernel/sched/SchedHooks.h, replaced by the scheduler's own.
#include "arch/x86_64/Cpu.h"
#include "kernel/sched/SchedHooks.h"

namespace sched {

[[gnu::weak]] void timer_tick() { }

[[gnu::weak]] void preempt_on_interrupt_return() { }

[[gnu::weak]] void start_secondary_cpu()
{
    for (;;)
        x86::enable_interrupts_and_halt();
}

} // namespace sched
