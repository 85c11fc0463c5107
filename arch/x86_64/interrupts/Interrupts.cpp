#include "arch/x86_64/interrupts/Interrupts.h"

#include "arch/x86_64/Cpu.h"
#include "arch/x86_64/Gdt.h"
#include "arch/x86_64/PerCpu.h"
#include "arch/x86_64/interrupts/Idt.h"
#include "arch/x86_64/user/Fpu.h"
#include "arch/x86_64/user/UserEntry.h"
#include "kernel/debug/Panic.h"
#include "arch/x86_64/boot/BootInfo.h"
#include "kernel/irq/Ipi.h"
#include "kernel/power/Power.h"

namespace interrupts {
namespace {

[[noreturn]] void finish_panic()
{
    // Under ktest the run must end with a "failed" exit, not hang until the
    // host's timeout.
    if (boot_info().command_line.has("ktest"))
        test_exit(TestStatus::Failed);
    x86::halt_forever();
}

u32 panic_cpu() { return current_cpu_index(); }

} // namespace

void init_boot_cpu()
{
    gdt::init_this_cpu(0);
    idt::init();
    idt::load();
    fpu::init_this_cpu();
    user::init_this_cpu();
    PanicHooks& hooks = panic_hooks();
    hooks.finish = finish_panic;
    hooks.current_cpu = panic_cpu;
    hooks.stop_other_cpus = ipi::stop_other_cpus;
}

void init_secondary_cpu(u32 cpu)
{
    gdt::init_this_cpu(cpu);
    idt::load();
    fpu::init_this_cpu();
    user::init_this_cpu();
}

} // namespace interrupts
