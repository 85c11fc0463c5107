#include "kernel/power/Power.h"

#include "arch/x86_64/Cpu.h"
#include "kernel/log/Log.h"

namespace {
PowerOps g_ops;
// The port of the isa-debug-exit device tools/qemu attaches (-device isa-debug-exit,iobase=0xf4).
constexpr u16 ISA_DEBUG_EXIT_PORT = 0xf4;
} // namespace

PowerOps& power_ops() { return g_ops; }

void test_exit(TestStatus status)
{
    x86::disable_interrupts();
    if (g_ops.prepare_shutdown)
        g_ops.prepare_shutdown();
    x86::outl(ISA_DEBUG_EXIT_PORT, static_cast<u32>(status));
    // Not under QEMU with the device attached: power off instead.
    if (g_ops.acpi_power_off)
        g_ops.acpi_power_off();
    x86::halt_forever();
}

void power_off()
{
    if (g_ops.prepare_shutdown)
        g_ops.prepare_shutdown();
    log_info("power", "powering off");
    x86::disable_interrupts();
    if (g_ops.acpi_power_off)
        g_ops.acpi_power_off();
    log_error("power", "ACPI power-off unavailable or failed; halting");
    x86::halt_forever();
}
