#include "arch/x86_64/interrupts/Exceptions.h"

#include "arch/x86_64/Cpu.h"
#include "arch/x86_64/PerCpu.h"
#include "arch/x86_64/interrupts/Vectors.h"
#include "arch/x86_64/mm/ExceptionTable.h"
#include "arch/x86_64/mm/KernelStack.h"
#include "arch/x86_64/user/UserEntry.h"
#include "kernel/debug/Panic.h"
#include "kernel/irq/Ipi.h"
#include "kernel/lib/Atomic.h"
#include "kernel/lib/String.h"
#include "kernel/log/Log.h"
#include "kernel/mm/PageFault.h"
#include "kernel/sched/Thread.h"

extern "C" char user_iret_instruction[];

namespace exceptions {
namespace {

Atomic<Handler> g_handlers[exception::COUNT];

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

// Linux's signal numbers and si_codes (asm-generic/signal.h, siginfo.h).
namespace sig {
constexpr int SIGILL = 4, SIGTRAP = 5, SIGBUS = 7, SIGFPE = 8, SIGKILL = 9, SIGSEGV = 11;
constexpr int SI_KERNEL = 0x80, ILL_ILLOPN = 2, FPE_INTDIV = 1, FPE_FLTINV = 7, SEGV_MAPERR = 1,
              SEGV_ACCERR = 2, BUS_ADRALN = 1, BUS_ADRERR = 2, TRAP_BRKPT = 1, TRAP_TRACE = 2;
} // namespace sig

mm::PageFaultInfo page_fault_info(u64 error_code, u64 address)
{
    return mm::PageFaultInfo{
        .address = address,
        .write = (error_code & exception::PF_WRITE) != 0,
        .exec = (error_code & exception::PF_INSTRUCTION_FETCH) != 0,
        .user = (error_code & exception::PF_USER) != 0,
        .present = (error_code & exception::PF_PRESENT) != 0,
    };
}

struct SignalFor {
    int signal;
    int code;
};

// What Linux sends for each exception taken in ring 3 (arch/x86/kernel/traps.c).
SignalFor signal_for_exception(u8 vector)
{
    switch (vector) {
    case exception::DIVIDE_ERROR:
        return {sig::SIGFPE, sig::FPE_INTDIV};
    case exception::DEBUG:
        return {sig::SIGTRAP, sig::TRAP_TRACE};
    case exception::BREAKPOINT:
        return {sig::SIGTRAP, sig::SI_KERNEL};
    case exception::INVALID_OPCODE:
        return {sig::SIGILL, sig::ILL_ILLOPN};
    case exception::SEGMENT_NOT_PRESENT:
    case exception::STACK_FAULT:
        return {sig::SIGBUS, sig::SI_KERNEL};
    case exception::ALIGNMENT_CHECK:
        return {sig::SIGBUS, sig::BUS_ADRALN};
    case exception::X87_FLOATING_POINT:
    case exception::SIMD_FLOATING_POINT:
        return {sig::SIGFPE, sig::FPE_FLTINV};
    default: // #OF, #BR, #GP, #TS, ...
        return {sig::SIGSEGV, sig::SI_KERNEL};
    }
}

void deliver_user_fault(UserFrame& frame, int signal, int code, uptr address)
{
    const user::Hooks& hooks = user::hooks();
    x86::enable_interrupts();
    if (hooks.fault)
        hooks.fault(frame, signal, code, address);
    else
        panic("exception %s in user mode with no process layer", NAMES[frame.vector]);
}

// An exception in ring 3. CR2 is read before interrupts come back on (an
// interrupt handler's own fault would overwrite it).
void handle_user_exception(InterruptFrame& frame)
{
    u8 vector = static_cast<u8>(frame.vector);
    if (vector == exception::PAGE_FAULT) {
        u64 address = x86::read_cr2();
        x86::enable_interrupts();
        mm::FaultResult result = mm::handle_page_fault(page_fault_info(frame.error_code, address));
        switch (result) {
        case mm::FaultResult::Resolved:
            return;
        case mm::FaultResult::MapError:
            return deliver_user_fault(frame, sig::SIGSEGV, sig::SEGV_MAPERR, address);
        case mm::FaultResult::AccessError:
            return deliver_user_fault(frame, sig::SIGSEGV, sig::SEGV_ACCERR, address);
        case mm::FaultResult::BusError:
            return deliver_user_fault(frame, sig::SIGBUS, sig::BUS_ADRERR, address);
        case mm::FaultResult::OutOfMemory:
            return deliver_user_fault(frame, sig::SIGKILL, sig::SI_KERNEL, address);
        }
        return;
    }
    SignalFor s = signal_for_exception(vector);
    uptr address = vector == exception::GENERAL_PROTECTION || vector == exception::BREAKPOINT ? 0 : frame.rip;
    deliver_user_fault(frame, s.signal, s.code, address);
}

// IRETQ to ring 3 faulted (a non-canonical RIP in the frame): the entry
// already swapped back to the kernel GS. The iret frame it tried is still at
// frame.rsp, the user's general registers are what this exception saved.
// Rebuild the thread's UserFrame from the two and treat the fault as the
// thread's own (Linux's fixup_bad_iret), then leave through that frame.
[[noreturn]] void handle_bad_iret(InterruptFrame& frame)
{
    auto* user_frame = reinterpret_cast<UserFrame*>(frame.rsp - __builtin_offsetof(UserFrame, rip));
    u64 vector = frame.vector;
    memcpy(user_frame, &frame, __builtin_offsetof(UserFrame, vector));
    user_frame->vector = vector;
    user_frame->error_code = frame.error_code;
    SignalFor s = signal_for_exception(static_cast<u8>(vector));
    deliver_user_fault(*user_frame, s.signal, s.code, 0);
    user::enter(*user_frame);
}

// A fault in ring 0 on a user address: only the user-copy routines may take
// one. Demand paging first, then the copy's fixup. Returns true if handled.
bool handle_kernel_fault_on_user(InterruptFrame& frame)
{
    u8 vector = static_cast<u8>(frame.vector);
    u64 fixup = extable::find_fixup(frame.rip);
    if (vector == exception::PAGE_FAULT) {
        u64 address = x86::read_cr2();
        if (address >= user::USER_END)
            return false;
        // A protection fault on a present user page in ring 0 outside a
        // copy (SMAP, or a user page being executed: SMEP) is a kernel bug.
        if (!fixup)
            return false;
        bool were_enabled = frame.rflags & x86::RFLAGS_IF;
        if (were_enabled)
            x86::enable_interrupts();
        mm::FaultResult result = mm::handle_page_fault(page_fault_info(frame.error_code, address));
        x86::disable_interrupts();
        if (result == mm::FaultResult::Resolved)
            return true;
        frame.rip = fixup;
        return true;
    }
    if (vector == exception::GENERAL_PROTECTION && fixup) {
        frame.rip = fixup;
        return true;
    }
    return false;
}

} // namespace

void set_handler(u8 vector, Handler handler)
{
    if (vector < exception::COUNT)
        g_handlers[vector].store(handler, MemoryOrder::Release);
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

// A fault on a kernel stack's guard page (arch/x86_64/mm/KernelStack.h):
// the stack overflowed. Usually seen as a double fault, since the page
// fault's own frame could not be pushed either.
void report_stack_overflow(u8 vector, u64 cr2, const InterruptFrame& frame)
{
    usize slot;
    if (vector != exception::DOUBLE_FAULT && vector != exception::PAGE_FAULT)
        return;
    if (!mm::kernel_stack_guard_slot(cr2, &slot) && !mm::kernel_stack_guard_slot(frame.rsp, &slot))
        return;
    const uptr bottom = mm::kernel_stack_bottom(slot);
    Thread* thread = current_thread();
    log_raw("kernel stack overflow: %s ran off the bottom of its stack [0x%lx, 0x%lx) into the guard page "
            "(fault at 0x%lx, RSP 0x%lx)\n",
            thread ? thread->name() : "(no thread)", bottom, bottom + mm::KERNEL_STACK_BYTES, cr2, frame.rsp);
}

void handle(InterruptFrame& frame)
{
    u8 vector = static_cast<u8>(frame.vector);

    // An NMI is how panic stops the other CPUs (kernel/irq/Ipi.cpp).
    if (vector == exception::NMI && ipi::stop_requested())
        ipi::stop_this_cpu();

    if (frame.from_user() && vector != exception::NMI && vector != exception::MACHINE_CHECK &&
        vector != exception::DOUBLE_FAULT) {
        handle_user_exception(frame);
        return;
    }
    if (frame.rip == reinterpret_cast<u64>(user_iret_instruction))
        handle_bad_iret(frame);
    if (handle_kernel_fault_on_user(frame))
        return;

    Handler handler = g_handlers[vector].load(MemoryOrder::Acquire);
    if (handler && handler(frame))
        return;

    // CR2 first: a fault while printing would overwrite it.
    u64 cr2 = x86::read_cr2();
    if (!panic_begin())
        x86::halt_forever();
    log_raw("\nEXCEPTION %s (#%u) on CPU %u\n", NAMES[vector], vector, current_cpu_index());
    if (vector == exception::PAGE_FAULT)
        print_page_fault_cause(frame.error_code, cr2);
    report_stack_overflow(vector, cr2, frame);
    dump_frame(frame, cr2);
    if (!frame.from_user())
        print_backtrace(frame.rbp, frame.rip);
    panic_finish();
}

} // namespace exceptions
