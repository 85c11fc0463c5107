// Per-CPU data, reached through the GS base: gs:0 holds a pointer to the
// CPU's own PerCpu, so this_cpu() is one instruction and needs no lock.
//
// Fields belong to the subsystem named in their comment; only that CPU writes
// them unless the comment says otherwise.
#pragma once

#include "kernel/lib/Atomic.h"
#include "kernel/lib/Types.h"

class Thread;
class RunQueue;
struct TimerQueue;
struct PageCacheMagazine;

constexpr u32 MAX_CPUS = 64;

struct PerCpu {
    PerCpu* self; // gs:0, must stay first
    u32 index;    // logical CPU number, 0 = boot CPU
    u32 apic_id;  // from the MADT
    Atomic<bool> online;

    // sched: the running thread, this CPU's run queue, the idle thread.
    Thread* current_thread;
    RunQueue* run_queue;
    Thread* idle_thread;
    // sched: >0 while preemption is off (spinlock held, interrupt handler).
    u32 preempt_count;
    // sched: set from interrupts or other CPUs, checked on interrupt return.
    Atomic<bool> need_resched;

    // irq: nesting depth of interrupt handlers on this CPU.
    u32 irq_depth;
    // time: this CPU's pending kernel timers.
    TimerQueue* timer_queue;
    // mm: the per-CPU page cache in front of the buddy allocator.
    PageCacheMagazine* page_magazine;
    // arch: top of the running user thread's kernel stack: what the TSS
    // loads on entry from ring 3 and what the SYSCALL entry switches to.
    u64 kernel_stack_top;
    // arch: the user stack pointer between SYSCALL and the frame push.
    u64 user_rsp_scratch;
};
// arch/x86_64/user/SyscallEntry.S addresses these with %gs: offsets.
static_assert(__builtin_offsetof(PerCpu, kernel_stack_top) == 80);
static_assert(__builtin_offsetof(PerCpu, user_rsp_scratch) == 88);

namespace percpu {

// Make the boot CPU's PerCpu current (GS base); before this, this_cpu() is invalid.
void init_boot_cpu();
// Set up the PerCpu of an application processor, on that processor.
void init_this_cpu(u32 index);

PerCpu& cpu(u32 index);
u32 possible_count(); // CPUs listed by the firmware (set by SMP bring-up)
void set_possible_count(u32 count);
u32 online_count();

} // namespace percpu

inline PerCpu& this_cpu()
{
    PerCpu* self;
    asm volatile("movq %%gs:0, %0" : "=r"(self));
    return *self;
}

inline u32 current_cpu_index()
{
    u32 index;
    asm volatile("movl %%gs:%c1, %0" : "=r"(index) : "i"(__builtin_offsetof(PerCpu, index)));
    return index;
}
