// Acting on signals on the way back to user mode (Signals.h): default
// actions, group stop, handler frames and syscall restart, rt_sigreturn,
// faults, and the signals the kernel sends a parent.
#include "arch/x86_64/user/SignalFrame.h"
#include "arch/x86_64/user/UserEntry.h"
#include "kernel/lib/RestartErrno.h"
#include "kernel/log/Log.h"
#include "kernel/mm/Heap.h"
#include "kernel/proc/Current.h"
#include "kernel/proc/Lifecycle.h"
#include "kernel/proc/ProcessTable.h"
#include "kernel/proc/Signals.h"
#include "kernel/sched/Thread.h"
#include "uapi/errno.h"
#include "uapi/unistd_64.h"

namespace proc {
namespace {

constexpr u32 RLIMIT_CORE = 4;
constexpr u32 WAIT_CORE_FLAG = 0x80;
constexpr u64 NS_PER_CLOCK_TICK = 10'000'000; // USER_HZ = 100
constexpr u64 SYSCALL_INSTRUCTION_SIZE = 2;

bool is_syscall_frame(const UserFrame& frame)
{
    return frame.vector == user::SYSCALL_VECTOR && frame.error_code != ~0ul;
}

// Linux's handle_signal: a syscall a handler interrupts fails with EINTR,
// or starts over once the handler returns (ERESTARTSYS with SA_RESTART,
// ERESTARTNOINTR).
void fix_syscall_for_handler(UserFrame& frame, const SignalAction& action)
{
    if (!is_syscall_frame(frame))
        return;
    switch (-static_cast<long>(frame.rax)) {
    case ERESTART_RESTARTBLOCK:
    case ERESTARTNOHAND:
        frame.rax = static_cast<u64>(-EINTR);
        break;
    case ERESTARTSYS:
        if (!(action.flags & SA_RESTART)) {
            frame.rax = static_cast<u64>(-EINTR);
            break;
        }
        [[fallthrough]];
    case ERESTARTNOINTR:
        frame.rax = frame.error_code;
        frame.rip -= SYSCALL_INSTRUCTION_SIZE;
        break;
    default:
        break;
    }
}

// No handler ran (the signal was ignored, stopped the group, or went to
// another thread): every interrupted syscall starts over; one with a
// restart block resumes through restart_syscall(2).
void fix_syscall_without_handler(UserFrame& frame)
{
    if (!is_syscall_frame(frame))
        return;
    switch (-static_cast<long>(frame.rax)) {
    case ERESTARTNOHAND:
    case ERESTARTSYS:
    case ERESTARTNOINTR:
        frame.rax = frame.error_code;
        frame.rip -= SYSCALL_INSTRUCTION_SIZE;
        break;
    case ERESTART_RESTARTBLOCK:
        frame.rax = __NR_restart_syscall;
        frame.rip -= SYSCALL_INSTRUCTION_SIZE;
        break;
    default:
        break;
    }
}

bool dumps_core(const Process& process)
{
    return process.dumpable && process.rlimits[RLIMIT_CORE].current != 0;
}

bool is_fault_signal(const uapi::siginfo_t& info)
{
    int s = info.si_signo;
    return info.si_code > 0 && info.si_code != SI_KERNEL &&
           (s == SIGSEGV || s == SIGBUS || s == SIGILL || s == SIGFPE || s == SIGTRAP);
}

[[noreturn]] void die(const UserFrame& frame, const uapi::siginfo_t& info, bool core)
{
    Process& process = *current_process();
    int signal = info.si_signo;
    // One line for a fault nobody handles, as Linux's show_unhandled_signals.
    if (is_fault_signal(info) || info.si_code == SI_KERNEL)
        log_info("proc", "pid %d (%s): signal %d (code %d) at rip %#lx, address %#lx: killed", process.pid,
                 process.comm, signal, info.si_code, frame.rip,
                 reinterpret_cast<uptr>(info._sifields._sigfault._addr));
    u32 status = wait_status_signaled(signal);
    // No core file is written; the flag says one would have been (Linux
    // sets it when RLIMIT_CORE allows a dump and the process is dumpable).
    if (core && dumps_core(process))
        status |= WAIT_CORE_FLAG;
    exit_group(status);
}

// The first thread to take a stop signal starts the group stop.
void start_group_stop_locked(Process& process, int signal)
{
    SignalState& s = process.signals;
    if (s.stop != GroupStop::Running)
        return;
    s.stop = GroupStop::Stopping;
    s.stop_signal = signal;
    s.stop_remaining = 0;
    for (Task& task : process.tasks) {
        task.signals.stop_pending = true;
        s.stop_remaining++;
        recalc_signal_pending_locked(task);
        if (task.thread && &task != current_task()) {
            sched::wake_up(*task.thread);
        }
    }
}

// Park the calling thread until SIGCONT or SIGKILL (Linux's do_signal_stop).
void park_for_group_stop(Task& self)
{
    Process& process = *self.process;
    {
        SpinLockGuard guard(tree_lock());
        if (!self.signals.stop_pending)
            return;
        self.signals.stop_pending = false;
        recalc_signal_pending_locked(self);
        SignalState& s = process.signals;
        if (s.stop_remaining && --s.stop_remaining == 0 && s.stop == GroupStop::Stopping) {
            s.stop = GroupStop::Stopped;
            s.stop_unreported = true;
            s.continue_unreported = false;
            notify_parent_of_stop_locked(process, CLD_STOPPED, s.stop_signal);
        }
    }
    wait_event(process.signals.stop_wait, [&] {
        SpinLockGuard guard(tree_lock());
        return process.signals.stop == GroupStop::Running || self.kill_pending.load(MemoryOrder::Acquire);
    });
}

void deliver_to_handler(UserFrame& frame, Task& self, int signal, const uapi::siginfo_t& info,
                        const SignalAction& action, SigSet saved_mask)
{
    fix_syscall_for_handler(frame, action);
    user::SignalDelivery delivery;
    delivery.signal = signal;
    delivery.info = &info;
    delivery.handler = action.handler;
    delivery.restorer = action.restorer;
    delivery.flags = action.flags;
    delivery.saved_mask = saved_mask;
    delivery.alt_stack = &self.signals.alt_stack;
    delivery.trap_number = self.signals.trap_number;
    delivery.error_code = self.signals.error_code;
    delivery.fault_address = self.signals.fault_address;
    if (user::push_signal_frame(frame, delivery).is_error()) {
        // Linux's force_sigsegv: a signal that cannot be delivered kills.
        uapi::siginfo_t segv{};
        segv.si_signo = SIGSEGV;
        segv.si_code = SI_KERNEL;
        die(frame, segv, true);
    }
    if (self.signals.alt_stack.flags & SS_AUTODISARM)
        self.signals.alt_stack = {};
    SpinLockGuard guard(tree_lock());
    SigSet mask = self.signal_mask | action.mask;
    if (!(action.flags & SA_NODEFER))
        mask |= signal_bit(signal);
    self.signal_mask = mask & ~UNBLOCKABLE;
    recalc_signal_pending_locked(self);
}

} // namespace

bool has_pending_work()
{
    Thread* thread = current_thread();
    return thread && thread->task() && thread->signal_pending();
}

void do_pending_work(UserFrame& frame)
{
    Task& self = *current_task();
    for (;;) {
        if (self.kill_pending.load(MemoryOrder::Acquire))
            exit_killed_task();
        if (self.signals.stop_pending) {
            park_for_group_stop(self);
            continue;
        }
        uapi::siginfo_t info;
        SignalAction action;
        SigSet saved_mask = 0;
        int signal;
        {
            SpinLockGuard guard(tree_lock());
            if (self.kill_pending.load(MemoryOrder::Acquire) || self.signals.stop_pending)
                continue;
            signal = dequeue_signal_locked(self, ~self.signal_mask, info);
            if (!signal) {
                // Nothing to deliver (another thread took it, or it was
                // only a wake-up): restart, and put a sigsuspend mask back.
                if (self.signals.mask_saved) {
                    self.signals.mask_saved = false;
                    self.signal_mask = self.signals.saved_mask;
                    recalc_signal_pending_locked(self);
                }
                fix_syscall_without_handler(frame);
                return;
            }
            SignalAction& slot = self.process->signals.actions[signal - 1];
            action = slot;
            if (action.handler == SIG_IGN_VALUE)
                continue;
            if (action.handler == SIG_DFL_VALUE) {
                DefaultAction d = default_action(signal);
                if (d == DefaultAction::Ignore || d == DefaultAction::Continue)
                    continue;
                if (d == DefaultAction::Stop) {
                    start_group_stop_locked(*self.process, signal);
                    continue;
                }
            } else {
                if (action.flags & SA_RESETHAND)
                    slot.handler = SIG_DFL_VALUE;
                saved_mask = self.signals.mask_saved ? self.signals.saved_mask : self.signal_mask;
                self.signals.mask_saved = false;
            }
        }
        if (action.handler == SIG_DFL_VALUE)
            die(frame, info, default_action(signal) == DefaultAction::Core);
        deliver_to_handler(frame, self, signal, info, action, saved_mask);
        return;
    }
}

void handle_user_fault(UserFrame& frame, int signal, int code, uptr address)
{
    Task& self = *current_task();
    Process& process = *self.process;
    self.signals.trap_number = frame.vector;
    self.signals.error_code = frame.error_code;
    if (frame.vector == 14)
        self.signals.fault_address = address;
    uapi::siginfo_t info{};
    info.si_signo = signal;
    info.si_code = code;
    info._sifields._sigfault._addr = reinterpret_cast<void*>(address);
    SpinLockGuard guard(tree_lock());
    if (signal == SIGKILL) {
        kill_group_locked(process, wait_status_signaled(SIGKILL));
        return;
    }
    // Linux's force_sig_info: a fault signal the thread blocks or ignores
    // cannot be left pending (the instruction would fault again): it is
    // unblocked and its action reset to the default, which kills.
    SignalAction& action = process.signals.actions[signal - 1];
    bool blocked = self.signal_mask & signal_bit(signal);
    if (blocked || action.handler == SIG_IGN_VALUE) {
        action.handler = SIG_DFL_VALUE;
        if (blocked)
            self.signal_mask &= ~signal_bit(signal);
    }
    if (send_signal_locked(process, &self, info).is_error() || !(self.signals.pending.set & signal_bit(signal))) {
        // Not queued (no memory, or merged with a pending one): still pending
        // as a bit, delivered at once.
        self.signals.pending.set |= signal_bit(signal);
    }
    recalc_signal_pending_locked(self);
}

long signal_return(UserFrame& frame)
{
    Task& self = *current_task();
    auto restored = user::pop_signal_frame(frame);
    if (restored.is_error()) {
        handle_user_fault(frame, SIGSEGV, SI_KERNEL, 0);
        return static_cast<long>(frame.rax);
    }
    {
        SpinLockGuard guard(tree_lock());
        self.signal_mask = restored.value().mask & ~UNBLOCKABLE;
        recalc_signal_pending_locked(self);
    }
    // restore_altstack: errors (EPERM while on that stack) are ignored.
    (void)alt_stack(&restored.value().stack, nullptr, frame.rsp);
    return static_cast<long>(frame.rax);
}

void notify_parent_of_stop_locked(Process& process, int code, int status)
{
    Process* parent = process.parent;
    if (!parent)
        return;
    const SignalAction& chld = parent->signals.actions[SIGCHLD - 1];
    if (chld.handler != SIG_IGN_VALUE && !(chld.flags & SA_NOCLDSTOP)) {
        uapi::siginfo_t info{};
        info.si_signo = SIGCHLD;
        info.si_code = code;
        info._sifields._sigchld._pid = process.pid;
        info._sifields._sigchld._status = status;
        (void)send_signal_locked(*parent, nullptr, info);
    }
    parent->child_wait.wake_all();
}

bool notify_parent_of_exit_locked(Process& child)
{
    Process* parent = child.parent;
    if (!parent)
        return false;
    int signal = child.exit_signal;
    bool autoreap = false;
    const SignalAction& chld = parent->signals.actions[SIGCHLD - 1];
    if (signal == SIGCHLD && (chld.handler == SIG_IGN_VALUE || (chld.flags & SA_NOCLDWAIT))) {
        autoreap = true;
        if (chld.handler == SIG_IGN_VALUE)
            signal = 0;
    }
    if (is_valid_signal(signal)) {
        uapi::siginfo_t info{};
        info.si_signo = signal;
        u32 status = child.exit_status;
        if ((status & 0x7f) == 0) {
            info.si_code = CLD_EXITED;
            info._sifields._sigchld._status = static_cast<int>((status >> 8) & 0xff);
        } else {
            info.si_code = (status & WAIT_CORE_FLAG) ? CLD_DUMPED : CLD_KILLED;
            info._sifields._sigchld._status = static_cast<int>(status & 0x7f);
        }
        info._sifields._sigchld._pid = child.pid;
        info._sifields._sigchld._utime = static_cast<long>(child.exited_user_ns / NS_PER_CLOCK_TICK);
        info._sifields._sigchld._stime = static_cast<long>(child.exited_system_ns / NS_PER_CLOCK_TICK);
        (void)send_signal_locked(*parent, nullptr, info);
    }
    parent->child_wait.wake_all();
    return autoreap;
}

} // namespace proc
