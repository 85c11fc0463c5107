#include "arch/x86_64/user/UserEntry.h"

#include "arch/x86_64/Cpu.h"
#include "arch/x86_64/Gdt.h"
#include "arch/x86_64/PerCpu.h"
#include "arch/x86_64/user/Fpu.h"
#include "kernel/debug/Panic.h"
#include "kernel/lib/Atomic.h"
#include "kernel/lib/String.h"
#include "kernel/mm/Heap.h"
#include "kernel/sched/SchedHooks.h"
#include "kernel/sched/Thread.h"
#include "kernel/time/Clock.h"
#include "uapi/errno.h"

extern "C" void syscall_entry();
extern "C" [[noreturn]] void user_enter_frame(UserFrame* frame);

namespace user {
namespace {

// SDM Vol. 4, Table 2-2.
constexpr u32 MSR_EFER = 0xc0000080;
constexpr u32 MSR_STAR = 0xc0000081;
constexpr u32 MSR_LSTAR = 0xc0000082;
constexpr u32 MSR_SFMASK = 0xc0000084;
constexpr u32 MSR_FS_BASE = 0xc0000100;
constexpr u32 MSR_KERNEL_GS_BASE = 0xc0000102;
constexpr u64 EFER_SCE = 1ul << 0;

// RFLAGS bits SYSCALL clears (Linux's choice, arch/x86/kernel/cpu/common.c):
// IF (no interrupt before the stack switch), TF (no single-step trap in the
// entry), DF (the ABI's string direction), AC (SMAP stays armed), NT (a
// later IRET must not task-switch), plus IOPL.
constexpr u64 RFLAGS_TF = 1ul << 8;
constexpr u64 RFLAGS_DF = 1ul << 10;
constexpr u64 RFLAGS_IOPL = 3ul << 12;
constexpr u64 RFLAGS_NT = 1ul << 14;
constexpr u64 RFLAGS_RF = 1ul << 16;
constexpr u64 RFLAGS_AC = 1ul << 18;
constexpr u64 SYSCALL_MASK = RFLAGS_IF | RFLAGS_TF | RFLAGS_DF | RFLAGS_IOPL | RFLAGS_NT | RFLAGS_AC;

Hooks g_hooks;

// SYSRET reloads RIP from RCX and RFLAGS from R11 and cannot restore RF; it
// must never return to a non-canonical address (see SyscallEntry.S).
bool sysret_allowed(const UserFrame& frame)
{
    return frame.rcx == frame.rip && frame.r11 == frame.rflags && is_canonical_user(frame.rip) &&
           !(frame.rflags & (RFLAGS_RF | RFLAGS_TF));
}

} // namespace

void set_hooks(const Hooks& hooks) { g_hooks = hooks; }
const Hooks& hooks() { return g_hooks; }

void init_this_cpu()
{
    x86::wrmsr(MSR_EFER, x86::rdmsr(MSR_EFER) | EFER_SCE);
    // STAR[47:32]: SYSCALL CS (SS = +8); STAR[63:48]: SYSRET base, 64-bit CS
    // = base + 16, SS = base + 8 (Gdt.h orders the user segments for this).
    u64 star = (static_cast<u64>(gdt::USER_CODE32 | 3) << 48) | (static_cast<u64>(gdt::KERNEL_CODE) << 32);
    x86::wrmsr(MSR_STAR, star);
    x86::wrmsr(MSR_LSTAR, reinterpret_cast<u64>(&syscall_entry));
    x86::wrmsr(MSR_SFMASK, SYSCALL_MASK);
}

void init_frame(UserFrame& frame, uptr entry, uptr sp)
{
    memset(&frame, 0, sizeof frame);
    frame.rip = entry;
    frame.rsp = sp;
    frame.rflags = RFLAGS_FIXED | RFLAGS_IF;
    frame.cs = gdt::USER_CODE;
    frame.ss = gdt::USER_DATA;
}

Result<ThreadState*> create_thread_state(uptr kernel_stack_top)
{
    void* memory = kmalloc(sizeof(ThreadState));
    if (!memory)
        return Error::from_errno(ENOMEM);
    auto* state = new (memory) ThreadState;
    // kmalloc aligns to the power of two the size rounds up to (>= 512 here).
    state->fpu = static_cast<u8*>(kmalloc(fpu::state_size()));
    if (!state->fpu) {
        kfree(state);
        return Error::from_errno(ENOMEM);
    }
    ASSERT(is_aligned(reinterpret_cast<uptr>(state->fpu), uptr(fpu::STATE_ALIGN)));
    fpu::init_state(state->fpu);
    state->kernel_stack_top = kernel_stack_top;
    state->last_charge_ns = clock_ns();
    return state;
}

void destroy_thread_state(ThreadState* state)
{
    if (!state)
        return;
    kfree(state->fpu);
    kfree(state);
}

Result<ThreadState*> clone_current_thread_state(const ThreadState& current, uptr kernel_stack_top)
{
    ThreadState* state = TRY(create_thread_state(kernel_stack_top));
    // The kernel never touches the FPU, so the registers are still the
    // caller's user state.
    fpu::save(state->fpu);
    state->fs_base = x86::rdmsr(MSR_FS_BASE);
    state->gs_base = x86::rdmsr(MSR_KERNEL_GS_BASE);
    (void)current;
    return state;
}

void charge_user_time(ThreadState& state)
{
    u64 now = clock_ns();
    state.user_ns.store(state.user_ns.load(MemoryOrder::Relaxed) + now - state.last_charge_ns, MemoryOrder::Relaxed);
    state.last_charge_ns = now;
}

void charge_system_time(ThreadState& state)
{
    u64 now = clock_ns();
    state.system_ns.store(state.system_ns.load(MemoryOrder::Relaxed) + now - state.last_charge_ns, MemoryOrder::Relaxed);
    state.last_charge_ns = now;
}

void switch_state(ThreadState* prev, ThreadState* next)
{
    if (prev)
        charge_system_time(*prev); // it was in the kernel, switching away
    if (next)
        next->last_charge_ns = clock_ns(); // off-CPU time is nobody's
    if (prev) {
        fpu::save(prev->fpu);
        // A user program can change its FS/GS base without the kernel (a
        // selector load), so read them back rather than trusting the copy.
        prev->fs_base = x86::rdmsr(MSR_FS_BASE);
        prev->gs_base = x86::rdmsr(MSR_KERNEL_GS_BASE);
    }
    if (next) {
        fpu::restore(next->fpu);
        x86::wrmsr(MSR_FS_BASE, next->fs_base);
        x86::wrmsr(MSR_KERNEL_GS_BASE, next->gs_base);
        PerCpu& cpu = this_cpu();
        cpu.kernel_stack_top = next->kernel_stack_top;
        gdt::set_kernel_stack(cpu.index, next->kernel_stack_top);
    }
}

void set_fs_base(ThreadState& state, u64 base)
{
    bool were_enabled = x86::save_and_disable_interrupts();
    state.fs_base = base;
    x86::wrmsr(MSR_FS_BASE, base);
    x86::restore_interrupts(were_enabled);
}

void set_gs_base(ThreadState& state, u64 base)
{
    bool were_enabled = x86::save_and_disable_interrupts();
    state.gs_base = base;
    x86::wrmsr(MSR_KERNEL_GS_BASE, base);
    x86::restore_interrupts(were_enabled);
}

u64 current_fs_base() { return x86::rdmsr(MSR_FS_BASE); }
u64 current_gs_base() { return x86::rdmsr(MSR_KERNEL_GS_BASE); }

void reset_for_exec(ThreadState& state)
{
    bool were_enabled = x86::save_and_disable_interrupts();
    fpu::init_state(state.fpu);
    fpu::restore(state.fpu);
    state.fs_base = 0;
    state.gs_base = 0;
    x86::wrmsr(MSR_FS_BASE, 0);
    x86::wrmsr(MSR_KERNEL_GS_BASE, 0);
    x86::restore_interrupts(were_enabled);
}

void prepare_return(UserFrame& frame)
{
    for (;;) {
        x86::disable_interrupts();
        PerCpu& cpu = this_cpu();
        if (cpu.need_resched.load(MemoryOrder::Acquire) && cpu.preempt_count == 0) {
            sched::preempt_on_interrupt_return();
            continue;
        }
        if (g_hooks.has_pending_work && g_hooks.has_pending_work()) {
            x86::enable_interrupts();
            g_hooks.do_pending_work(frame);
            continue;
        }
        break;
    }
    sanitize(frame);
    if (ThreadState* state = current_state())
        charge_system_time(*state);
}

ThreadState* current_state()
{
    Thread* thread = current_thread();
    return thread ? thread->user_state() : nullptr;
}

void enter(UserFrame& frame)
{
    prepare_return(frame);
    user_enter_frame(&frame);
}

} // namespace user

// Called by syscall_entry (SyscallEntry.S) with interrupts off; returns with
// them off, true if the frame may leave through SYSRET.
extern "C" bool user_syscall_entry(UserFrame* frame)
{
    if (user::ThreadState* state = user::current_state())
        user::charge_user_time(*state);
    x86::enable_interrupts();
    if (user::g_hooks.syscall)
        user::g_hooks.syscall(*frame);
    else
        frame->rax = static_cast<u64>(-ENOSYS);
    user::prepare_return(*frame);
    return user::sysret_allowed(*frame);
}
