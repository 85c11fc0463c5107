// The x86-64 signal frame (Linux arch/x86/kernel/signal.c, struct
// rt_sigframe): what the kernel pushes on the user stack to run a signal
// handler, and what rt_sigreturn reads back.
//
//   high  ...the interrupted stack (its 128-byte red zone skipped)...
//         fpstate: XSAVE image (64-byte aligned), FP_XSTATE_MAGIC2 after it
//         struct rt_sigframe { pretcode; struct ucontext uc; siginfo info; }
//   low   at rsp = 16n - 8: pretcode, the SA_RESTORER stub the handler's
//         `ret` jumps to (it calls rt_sigreturn)
//
// The handler starts with rdi = signal, rsi = &info, rdx = &uc, rax = 0,
// DF/TF/RF clear and the FPU in its init state. The kernel decides which
// signal and which mask; this file only lays the frame out.
#pragma once

#include "arch/x86_64/user/UserFrame.h"
#include "kernel/lib/Result.h"
#include "kernel/lib/Types.h"
#include "uapi/signal.h"

namespace user {

struct AltStack {
    uptr sp = 0;
    usize size = 0;
    u32 flags = 0; // as given to sigaltstack (0 or SS_AUTODISARM)
};

// Linux on_sig_stack(): `sp` lies inside the alternate stack.
inline bool on_alt_stack(const AltStack& stack, uptr sp)
{
    if (stack.flags & SS_AUTODISARM)
        return false;
    return sp > stack.sp && sp - stack.sp <= stack.size;
}

// sas_ss_flags(): SS_DISABLE without a stack, SS_ONSTACK when on it.
inline u32 alt_stack_state(const AltStack& stack, uptr sp)
{
    if (!stack.size)
        return SS_DISABLE;
    return on_alt_stack(stack, sp) ? SS_ONSTACK : 0;
}

struct SignalDelivery {
    int signal = 0;
    const uapi::siginfo_t* info = nullptr; // copied into the frame with SA_SIGINFO
    u64 handler = 0;
    u64 restorer = 0;
    u64 flags = 0;      // SA_SIGINFO, SA_ONSTACK
    u64 saved_mask = 0; // uc_sigmask: the mask rt_sigreturn puts back
    AltStack* alt_stack = nullptr;
    // sigcontext's trapno, err and cr2: the thread's last fault.
    u64 trap_number = 0;
    u64 error_code = 0;
    u64 fault_address = 0;
};

// Push the frame for `delivery` below frame.rsp (or on the alternate stack)
// and point `frame` at the handler. EFAULT if the stack cannot take it (the
// caller kills with SIGSEGV, as Linux's force_sigsegv).
Result<void> push_signal_frame(UserFrame& frame, const SignalDelivery& delivery);

struct SignalReturn {
    u64 mask = 0;            // uc_sigmask
    uapi::stack_t stack = {}; // uc_stack
};

// rt_sigreturn: read the frame at frame.rsp - 8 back into `frame` (general
// registers, rip, rsp, the flags user code may set; CS/SS stay the user's)
// and the FPU. EFAULT for an unreadable frame, EINVAL for an FPU image the
// CPU would refuse; the caller kills with SIGSEGV.
Result<SignalReturn> pop_signal_frame(UserFrame& frame);

} // namespace user
