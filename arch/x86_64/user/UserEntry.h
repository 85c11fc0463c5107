// Ring 3: the SYSCALL MSRs, the per-thread user state the context switch
// carries (FS base, user GS base, FPU/SSE/AVX state, kernel stack), and the
// hooks through which the architecture-free kernel (kernel/proc,
// kernel/syscall, tier 3) handles what arrives from user mode.
#pragma once

#include "arch/x86_64/user/UserFrame.h"
#include "kernel/lib/Atomic.h"
#include "kernel/lib/Result.h"
#include "kernel/lib/Types.h"

namespace user {

// Set by tier 3 at boot; the architecture calls them.
struct Hooks {
    // A SYSCALL arrived: read the number and arguments from the frame, put
    // the result in frame.rax. Runs with interrupts on.
    void (*syscall)(UserFrame& frame) = nullptr;
    // About to return to ring 3 (interrupts off): is there work first
    // (a kill, a signal)? Must be cheap.
    bool (*has_pending_work)() = nullptr;
    // Do that work (interrupts on); may not return (exit).
    void (*do_pending_work)(UserFrame& frame) = nullptr;
    // An exception in ring 3 that mm could not resolve: deliver `signal`
    // (SIGSEGV, SIGBUS, ...) with si_code `code` and si_addr `address`.
    // Interrupts on; may not return.
    void (*fault)(UserFrame& frame, int signal, int code, uptr address) = nullptr;
};
void set_hooks(const Hooks& hooks);
const Hooks& hooks();

// Every CPU: EFER.SCE, STAR, LSTAR, SFMASK. After gdt::init_this_cpu.
void init_this_cpu();

// What the context switch saves and restores for a thread that runs in
// ring 3 (kernel threads have none).
struct ThreadState {
    u64 kernel_stack_top = 0; // TSS.RSP0 and PerCpu::kernel_stack_top
    u64 fs_base = 0;
    u64 gs_base = 0;          // the user's GS base (MSR_KERNEL_GS_BASE while in the kernel)
    u8* fpu = nullptr;        // fpu::state_size() bytes
    // CPU time (getrusage, times): nanoseconds in ring 3 and in the kernel on
    // the thread's behalf, charged at every crossing and context switch.
    // Written by the thread itself, read (relaxed) by others (getrusage, wait4).
    Atomic<u64> user_ns{0};
    Atomic<u64> system_ns{0};
    u64 last_charge_ns = 0;   // when the current stretch started
};

// Called on entry from ring 3 (the stretch in user mode ends) and just
// before returning there (the kernel stretch ends). Interrupts off.
void charge_user_time(ThreadState& state);
void charge_system_time(ThreadState& state);

// A fresh state with the FPU in its init state; ENOMEM.
Result<ThreadState*> create_thread_state(uptr kernel_stack_top);
void destroy_thread_state(ThreadState* state);
// A copy of the calling user thread's registers (FPU: the live ones), for
// fork/clone.
Result<ThreadState*> clone_current_thread_state(const ThreadState& current, uptr kernel_stack_top);

// The context switch, interrupts off: save `prev`'s user registers (if it
// has a user state) and load `next`'s (if it has one).
void switch_state(ThreadState* prev, ThreadState* next);

// On the current thread (its state is `state`): change the FS base / user
// GS base. The caller has checked the address (canonical, user half).
void set_fs_base(ThreadState& state, u64 base);
void set_gs_base(ThreadState& state, u64 base);
// The calling user thread's FS base / user GS base as the CPU has them.
u64 current_fs_base();
u64 current_gs_base();
// execve: FPU back to the init state, bases 0.
void reset_for_exec(ThreadState& state);

// The current thread's user state (null on a kernel thread).
ThreadState* current_state();

// Before returning to ring 3 from the current thread (interrupts off on
// return): reschedule, do the hooks' pending work, sanitize the frame.
void prepare_return(UserFrame& frame);

// Leave for ring 3 through `frame`, which must be this thread's frame at
// the top of its kernel stack. Runs prepare_return first.
[[noreturn]] void enter(UserFrame& frame);

} // namespace user
