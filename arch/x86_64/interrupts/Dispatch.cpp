// interrupt_dispatch: the C++ side of every interrupt and exception entry.
#include "arch/x86_64/Cpu.h"
#include "arch/x86_64/PerCpu.h"
#include "arch/x86_64/apic/Lapic.h"
#include "arch/x86_64/interrupts/Exceptions.h"
#include "arch/x86_64/interrupts/InterruptFrame.h"
#include "arch/x86_64/interrupts/Vectors.h"
#include "arch/x86_64/user/UserEntry.h"
#include "kernel/irq/Irq.h"
#include "kernel/irq/IrqInternal.h"
#include "kernel/lib/Atomic.h"
#include "kernel/log/Log.h"
#include "kernel/sched/SchedHooks.h"

namespace {

Atomic<u64> g_unhandled_reported{0};

void report_unhandled(u32 cpu, u8 vector)
{
    // Once per vector number (all CPUs alike), so a stuck line cannot flood the log.
    u64 bit = 1ul << (vector % 64);
    if (g_unhandled_reported.fetch_or(bit, MemoryOrder::Relaxed) & bit)
        return;
    log_warn("irq", "unhandled interrupt vector 0x%x on CPU %u", vector, cpu);
}

} // namespace

extern "C" void interrupt_dispatch(InterruptFrame* frame)
{
    u8 vector = static_cast<u8>(frame->vector);
    bool on_ist = vector == exception::NMI || vector == exception::DOUBLE_FAULT || vector == exception::MACHINE_CHECK;
    if (frame->from_user() && !on_ist) {
        if (user::ThreadState* state = user::current_state())
            user::charge_user_time(*state);
    }
    if (vector < exception::COUNT) {
        exceptions::handle(*frame);
        // Handlers may have turned interrupts on; the return path needs them off.
        x86::disable_interrupts();
        // NMI, #DF and #MC run on their own stacks: never schedule there.
        if (frame->from_user() && !on_ist)
            user::prepare_return(*frame);
        return;
    }

    PerCpu& cpu = this_cpu();
    cpu.irq_depth++;
    bool handled = irq::handle_interrupt(cpu.index, vector);
    if (!handled && vector != irq::VECTOR_SPURIOUS)
        report_unhandled(cpu.index, vector);
    // SDM §11.9: a spurious interrupt sets no in-service bit and takes no EOI.
    if (vector != irq::VECTOR_SPURIOUS && lapic::is_ready())
        lapic::eoi();
    cpu.irq_depth--;

    // Preempt on the way out of the outermost interrupt, if the scheduler
    // asked for it and the interrupted code allows it.
    if (cpu.irq_depth == 0 && cpu.need_resched.load(MemoryOrder::Relaxed) && cpu.preempt_count == 0)
        sched::preempt_on_interrupt_return();
    if (frame->from_user())
        user::prepare_return(*frame);
}
