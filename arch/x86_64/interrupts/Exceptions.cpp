#include "arch/x86_64/interrupts/Exceptions.h"

#include "arch/x86_64/Cpu.h"
#include "arch/x86_64/PerCpu.h"
#include "arch/x86_64/interrupts/Vectors.h"
#include "kernel/debug/Panic.h"
#include "kernel/irq/Ipi.h"
#include "kernel/log/Log.h"

namespace exceptions {
namespace {

Handler g_handlers[exception::COUNT];

// Names after the SDM's Table 6-1.
const char* const NAMES[exception::COUNT] = {
    "divide-error",
    "debug",
    "non-maskable-interrupt",
    "breakpoint",
    "overflow",
    "bound-range-exceeded",
    "invalid-opcode",
    "device-not-available",
    "double-fault",
    "coprocessor-segment-overrun",
    "invalid-tss",
    "segment-not-present",
    "stack-segment-fault",
    "general-protection",
    "page-fault",
    "reserved-15",
    "x87-floating-point",
    "alignment-check",
    "machine-check",
    "simd-floating-point",
    "virtualization",
    "control-protection",
    "reserved-22",
    "reserved-23",
    "reserved-24",
    "reserved-25",
    "reserved-26",
    "reserved-27",
    "hypervisor-injection",
    "vmm-communication",
    "security",
    "reserved-31",
};

void print_page_fault_cause(u64 error_code, u64 address)
{
    log_raw("  page fault: %s %s access to 0x%016lx in %s mode%s%s\n",
            error_code & exception::PF_PRESENT ? "protection violation on" : "non-present page on",
            error_code & exception::PF_INSTRUCTION_FETCH ? "instruction fetch"
            : error_code & exception::PF_WRITE         ? "write"
                                                       : "read",
            address, error_code & exception::PF_USER ? "user" : "kernel",
            error_code & exception::PF_RESERVED_BIT ? ", reserved bit set" : "",
            error_code & exception::PF_PROTECTION_KEY ? ", protection key" : "");
}

} // namespace

void set_handler(u8 vector, Handler handler)
{
    if (vector < exception::COUNT)
        __atomic_store_n(&g_handlers[vector], handler, __ATOMIC_RELEASE);
}

const char* name(u8 vector) { return vector < exception::COUNT ? NAMES[vector] : "interrupt"; }

void dump_frame(const InterruptFrame& f, u64 cr2)
{
    print_symbolized_address("  RIP    ", f.rip);
    log_raw("  RAX=%016lx RBX=%016lx RCX=%016lx RDX=%016lx\n", f.rax, f.rbx, f.rcx, f.rdx);
    log_raw("  RSI=%016lx RDI=%016lx RBP=%016lx RSP=%016lx\n", f.rsi, f.rdi, f.rbp, f.rsp);
    log_raw("  R8 =%016lx R9 =%016lx R10=%016lx R11=%016lx\n", f.r8, f.r9, f.r10, f.r11);
    log_raw("  R12=%016lx R13=%016lx R14=%016lx R15=%016lx\n", f.r12, f.r13, f.r14, f.r15);
    log_raw("  RIP=%016lx RFLAGS=%016lx CS=%04lx SS=%04lx\n", f.rip, f.rflags, f.cs, f.ss);
    log_raw("  CR0=%016lx CR2=%016lx CR3=%016lx CR4=%016lx\n", x86::read_cr0(), cr2, x86::read_cr3(),
            x86::read_cr4());
    log_raw("  error code=0x%lx\n", f.error_code);
}

void handle(InterruptFrame& frame)
{
    u8 vector = static_cast<u8>(frame.vector);

    // An NMI is how panic stops the other CPUs (kernel/irq/Ipi.cpp).
    if (vector == exception::NMI && ipi::stop_requested())
        ipi::stop_this_cpu();

    Handler handler = __atomic_load_n(&g_handlers[vector], __ATOMIC_ACQUIRE);
    if (handler && handler(frame))
        return;

    // CR2 first: a fault while printing would overwrite it.
    u64 cr2 = x86::read_cr2();
    if (!panic_begin())
        x86::halt_forever();
    log_raw("\nEXCEPTION %s (#%u) on CPU %u\n", NAMES[vector], vector, current_cpu_index());
    if (vector == exception::PAGE_FAULT)
        print_page_fault_cause(frame.error_code, cr2);
    dump_frame(frame, cr2);
    if (!frame.from_user())
        print_backtrace(frame.rbp, frame.rip);
    panic_finish();
}

} // namespace exceptions
