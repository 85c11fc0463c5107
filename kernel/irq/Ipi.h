// Inter-processor interrupts: reschedule, cross-CPU function calls, TLB
// shootdown and the panic stop.
//
// Cross-CPU calls run `fn(arg)` on the target CPU in interrupt context
// (interrupts off, must not sleep). A caller that waits keeps serving calls
// aimed at its own CPU while it spins, so two CPUs calling each other (or a
// caller with interrupts off) cannot deadlock.
#pragma once

#include "kernel/irq/CpuMask.h"
#include "kernel/lib/Types.h"

using CrossCpuFunction = void (*)(void* arg);

// Make `cpu` set its need_resched flag (and so reschedule on its way out of
// the interrupt). Sending it to the current CPU just sets the flag.
void send_reschedule_ipi(u32 cpu);

// Run fn(arg) on `cpu` (directly, interrupts off, when it is the current
// CPU). With `wait`, return after fn has returned there.
void smp_call_function(u32 cpu, CrossCpuFunction fn, void* arg, bool wait);
// On every CPU in `cpus` that is online (the current one included if listed).
void smp_call_function_many(CpuMask cpus, CrossCpuFunction fn, void* arg, bool wait);
// On every online CPU, the current one included.
void smp_call_function_all(CrossCpuFunction fn, void* arg, bool wait);

// Invalidate the TLB entries for [start, start + length) on every CPU in
// `cpus` (the current CPU included, if listed) and return once all have done
// it. length == 0 (or a large range) flushes everything, global pages too.
void tlb_shootdown(CpuMask cpus, uptr start, usize length);
inline void tlb_shootdown_all(CpuMask cpus) { tlb_shootdown(cpus, 0, 0); }

// Every online CPU as a mask.
CpuMask online_cpus();

namespace ipi {

// Boot CPU, once the local APIC is up: install the IPI handlers.
void init();
// Each CPU once its local APIC and IDT are up: it may now be sent IPIs.
void mark_this_cpu_online();

// Panic: stop every other CPU (NMI, so it works even with interrupts off).
void stop_other_cpus();
// The NMI handler asks whether this NMI is a stop request.
bool stop_requested();
[[noreturn]] void stop_this_cpu();

// Counters for tests: TLB shootdown requests handled on `cpu`.
u64 tlb_shootdowns_handled(u32 cpu);

} // namespace ipi
