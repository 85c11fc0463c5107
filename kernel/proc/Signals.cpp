// Sending signals, actions and masks (Signals.h). Delivery is in
// SignalDelivery.cpp.
#include "kernel/proc/Signals.h"

#include "kernel/irq/Ipi.h"
#include "kernel/lib/RestartErrno.h"
#include "kernel/lib/String.h"
#include "kernel/mm/Heap.h"
#include "kernel/proc/Current.h"
#include "kernel/proc/Lifecycle.h"
#include "kernel/proc/ProcessTable.h"
#include "kernel/sched/Scheduler.h"
#include "kernel/sched/Thread.h"
#include "kernel/time/Clock.h"
#include "uapi/errno.h"

namespace proc {
namespace {

constexpr SigSet STOP_SIGNALS = signal_bit(SIGSTOP) | signal_bit(SIGTSTP) | signal_bit(SIGTTIN) | signal_bit(SIGTTOU);

QueuedSignal* new_queued_signal(const uapi::siginfo_t& info)
{
    void* memory = kmalloc(sizeof(QueuedSignal));
    if (!memory)
        return nullptr;
    auto* queued = new (memory) QueuedSignal;
    queued->info = info;
    return queued;
}

// Drop every pending instance of the signals in `mask` from `pending`.
void flush_locked(PendingSignals& pending, SigSet mask)
{
    if (!(pending.set & mask))
        return;
    pending.set &= ~mask;
    for (auto it = pending.queue.begin(); it != pending.queue.end();) {
        QueuedSignal& queued = *it;
        ++it;
        if (signal_bit(queued.info.si_signo) & mask) {
            pending.queue.remove(queued);
            kfree(&queued);
        }
    }
}

void flush_everywhere_locked(Process& process, SigSet mask)
{
    flush_locked(process.signals.shared, mask);
    for (Task& task : process.tasks)
        flush_locked(task.signals.pending, mask);
}

bool is_ignored_action(const Process& process, int signal)
{
    const SignalAction& action = process.signals.actions[signal - 1];
    if (action.handler == SIG_IGN_VALUE)
        return true;
    if (action.handler != SIG_DFL_VALUE)
        return false;
    DefaultAction d = default_action(signal);
    return d == DefaultAction::Ignore || d == DefaultAction::Continue;
}

// Wake `task` for a signal: raise its flag, end an interruptible sleep, and
// bring it into the kernel if it runs in ring 3 on another CPU.
void signal_wake_locked(Task& task)
{
    if (!task.thread)
        return;
    task.thread->set_signal_pending(true);
    sched::wake_up(*task.thread);
    if (task.thread != current_thread())
        send_reschedule_ipi(task.thread->cpu());
}

// SIGCONT and stop signals act when sent, not when delivered (Linux's
// prepare_signal): a stop discards pending SIGCONTs, SIGCONT discards
// pending stops and releases a stopped group.
void prepare_signal_locked(Process& process, int signal)
{
    SignalState& s = process.signals;
    if (STOP_SIGNALS & signal_bit(signal)) {
        flush_everywhere_locked(process, signal_bit(SIGCONT));
        return;
    }
    if (signal != SIGCONT)
        return;
    flush_everywhere_locked(process, STOP_SIGNALS);
    for (Task& task : process.tasks)
        task.signals.stop_pending = false;
    if (s.stop == GroupStop::Stopped) {
        s.continue_unreported = true;
        s.stop_unreported = false;
        s.stop = GroupStop::Running;
        notify_parent_of_stop_locked(process, CLD_CONTINUED, SIGCONT);
    }
    s.stop = GroupStop::Running;
    s.stop_remaining = 0;
    s.stop_wait.wake_all();
    for (Task& task : process.tasks)
        recalc_signal_pending_locked(task);
}

bool wants_signal(const Task& task, int signal)
{
    if (signal == SIGKILL)
        return true;
    return !(task.signal_mask & signal_bit(signal));
}

// The thread to act on a process-wide signal: the caller if it belongs to
// the group and takes it, else the first that does not block it.
Task* choose_thread_locked(Process& process, int signal)
{
    Task* self = current_task();
    if (self && self->process == &process && wants_signal(*self, signal))
        return self;
    for (Task& task : process.tasks) {
        if (wants_signal(task, signal))
            return &task;
    }
    return nullptr;
}

bool is_fatal_default(const Process& process, int signal)
{
    if (process.signals.actions[signal - 1].handler != SIG_DFL_VALUE)
        return false;
    return default_action(signal) == DefaultAction::Terminate;
}

} // namespace

DefaultAction default_action(int signal)
{
    switch (signal) {
    case SIGQUIT:
    case SIGILL:
    case SIGTRAP:
    case SIGABRT:
    case SIGBUS:
    case SIGFPE:
    case SIGSEGV:
    case SIGXCPU:
    case SIGXFSZ:
    case SIGSYS:
        return DefaultAction::Core;
    case SIGCHLD:
    case SIGURG:
    case SIGWINCH:
        return DefaultAction::Ignore;
    case SIGCONT:
        return DefaultAction::Continue;
    case SIGSTOP:
    case SIGTSTP:
    case SIGTTIN:
    case SIGTTOU:
        return DefaultAction::Stop;
    default:
        return DefaultAction::Terminate;
    }
}

uapi::siginfo_t sender_siginfo(int signal, int code)
{
    uapi::siginfo_t info{};
    info.si_signo = signal;
    info.si_code = code;
    Process* self = current_process();
    info._sifields._kill._pid = self ? self->pid : 0;
    info._sifields._kill._uid = 0;
    return info;
}

void recalc_signal_pending_locked(Task& task)
{
    if (!task.thread)
        return;
    bool pending = task.kill_pending.load(MemoryOrder::Acquire) || task.signals.stop_pending ||
                   ((task.signals.pending.set | task.process->signals.shared.set) & ~task.signal_mask);
    task.thread->set_signal_pending(pending);
}

void mark_killed_locked(Task& task)
{
    task.kill_pending.store(true, MemoryOrder::Release);
    signal_wake_locked(task);
}

void kill_group_locked(Process& process, u32 wait_status)
{
    if (!process.group_exiting) {
        process.group_exiting = true;
        process.exit_status = wait_status;
    }
    process.signals.stop = GroupStop::Running;
    process.signals.stop_wait.wake_all();
    for (Task& task : process.tasks)
        mark_killed_locked(task);
}

namespace {

Result<void> send_locked(Process& process, Task* thread, const uapi::siginfo_t& info, bool allocate)
{
    int signal = info.si_signo;
    if (process.state == ProcessState::Zombie || process.group_exiting || process.tasks.is_empty())
        return {};
    prepare_signal_locked(process, signal);
    if (signal == SIGKILL) {
        kill_group_locked(process, wait_status_signaled(SIGKILL));
        return {};
    }
    // Ignored and not blocked by the thread it is for: gone (blocked ones
    // stay, the handler may change before they are unblocked).
    Task& mask_holder = thread ? *thread : *process.tasks.first();
    if (is_ignored_action(process, signal) && !(mask_holder.signal_mask & signal_bit(signal)))
        return {};
    PendingSignals& pending = thread ? thread->signals.pending : process.signals.shared;
    bool realtime = is_realtime_signal(signal);
    if (!realtime && (pending.set & signal_bit(signal)))
        return {}; // a standard signal is pending at most once
    if (QueuedSignal* queued = allocate ? new_queued_signal(info) : nullptr)
        pending.queue.push_back(*queued);
    else if (realtime && info.si_code != SI_USER)
        return Error::from_errno(EAGAIN);
    pending.set |= signal_bit(signal);

    Task* target = thread;
    if (!target)
        target = choose_thread_locked(process, signal);
    else if (!wants_signal(*target, signal))
        target = nullptr;
    if (!target)
        return {}; // every thread blocks it: it waits
    if (is_fatal_default(process, signal)) {
        kill_group_locked(process, wait_status_signaled(signal));
        return {};
    }
    signal_wake_locked(*target);
    return {};
}

} // namespace

Result<void> send_signal_locked(Process& process, Task* thread, const uapi::siginfo_t& info)
{
    return send_locked(process, thread, info, true);
}

void send_timer_signal_locked(Process& process, int signal)
{
    uapi::siginfo_t info{};
    info.si_signo = signal;
    info.si_code = SI_KERNEL;
    (void)send_locked(process, nullptr, info, false);
}

namespace {

// check_kill_permission: everyone is root, so only the number is checked.
long send_to_process_locked(Process& process, int signal, const uapi::siginfo_t& info)
{
    if (!is_valid_signal(signal) && signal != 0)
        return -EINVAL;
    if (signal == 0)
        return 0;
    auto sent = send_signal_locked(process, nullptr, info);
    return sent.is_error() ? -static_cast<long>(sent.error().code()) : 0;
}

} // namespace

long kill(pid_t pid, int signal)
{
    uapi::siginfo_t info = sender_siginfo(signal, SI_USER);
    Process* self = current_process();
    SpinLockGuard guard(tree_lock());
    if (pid > 0) {
        Process* target = find_process_locked(pid);
        if (!target)
            return -ESRCH;
        return send_to_process_locked(*target, signal, info);
    }
    if (pid == INT32_MIN)
        return -ESRCH;
    long result = -ESRCH;
    bool any = false;
    if (pid == -1) {
        // Everyone but init and the caller's own group.
        for_each_process_locked([&](Process& p) {
            if (p.pid <= 1 || &p == self)
                return;
            result = send_to_process_locked(p, signal, info);
            any = true;
        });
        return any ? result : -ESRCH;
    }
    pid_t group = pid == 0 ? self->pgid : -pid;
    for_each_process_locked([&](Process& p) {
        if (p.pgid != group)
            return;
        long r = send_to_process_locked(p, signal, info);
        if (result != 0)
            result = r; // success if any member took it
        any = true;
    });
    return result;
}

namespace {

long send_to_thread(pid_t tgid, pid_t tid, int signal, const uapi::siginfo_t& info)
{
    SpinLockGuard guard(tree_lock());
    Task* target = find_task_locked(tid);
    if (!target || (tgid > 0 && target->process->pid != tgid))
        return -ESRCH;
    if (!is_valid_signal(signal) && signal != 0)
        return -EINVAL;
    if (signal == 0)
        return 0;
    auto sent = send_signal_locked(*target->process, target, info);
    return sent.is_error() ? -static_cast<long>(sent.error().code()) : 0;
}

} // namespace

long kill_thread(pid_t tgid, pid_t tid, int signal)
{
    return send_to_thread(tgid, tid, signal, sender_siginfo(signal, SI_TKILL));
}

long queue_signal(pid_t tgid, pid_t tid, int signal, const uapi::siginfo_t& given)
{
    uapi::siginfo_t info = given;
    info.si_signo = signal;
    // Nobody may pretend to be the kernel or kill()/tkill() (kernel/signal.c
    // do_rt_sigqueueinfo), except towards itself.
    Process* self = current_process();
    if ((info.si_code >= 0 || info.si_code == SI_TKILL) && tgid != self->pid)
        return -EPERM;
    if (tid)
        return send_to_thread(tgid, tid, signal, info);
    SpinLockGuard guard(tree_lock());
    Process* target = find_process_locked(tgid);
    if (!target)
        return -ESRCH;
    return send_to_process_locked(*target, signal, info);
}

void set_signal_mask(SigSet mask)
{
    Task& self = *current_task();
    SpinLockGuard guard(tree_lock());
    SigSet newly_blocked = mask & ~UNBLOCKABLE & ~self.signal_mask;
    self.signal_mask = mask & ~UNBLOCKABLE;
    recalc_signal_pending_locked(self);
    // A process-wide signal this thread now blocks may be for another
    // (Linux's retarget_shared_pending).
    SigSet retarget = newly_blocked & self.process->signals.shared.set;
    if (!retarget)
        return;
    for (Task& other : self.process->tasks) {
        if (&other != &self && (retarget & ~other.signal_mask))
            signal_wake_locked(other);
    }
}

SigSet signal_mask()
{
    Task& self = *current_task();
    SpinLockGuard guard(tree_lock());
    return self.signal_mask;
}

Result<SignalAction> change_action(int signal, const SignalAction* action)
{
    if (!is_valid_signal(signal) || (action && (UNBLOCKABLE & signal_bit(signal))))
        return Error::from_errno(EINVAL);
    // Flags this kernel does not know are cleared, so that programs can
    // probe for them (Linux 5.11's UAPI_SA_FLAGS rule).
    constexpr u64 KNOWN_FLAGS = SA_NOCLDSTOP | SA_NOCLDWAIT | SA_SIGINFO | SA_ONSTACK | SA_RESTART | SA_NODEFER |
                                SA_RESETHAND | SA_RESTORER;
    Process& process = *current_process();
    SpinLockGuard guard(tree_lock());
    SignalAction& slot = process.signals.actions[signal - 1];
    SignalAction old = slot;
    old.flags &= KNOWN_FLAGS;
    if (action) {
        slot = *action;
        slot.flags &= KNOWN_FLAGS;
        slot.mask &= ~UNBLOCKABLE;
        // POSIX 3.3.1.3: setting a pending signal to be ignored discards it.
        if (is_ignored_action(process, signal)) {
            flush_everywhere_locked(process, signal_bit(signal));
            for (Task& task : process.tasks)
                recalc_signal_pending_locked(task);
        }
    }
    return old;
}

SigSet pending_signals()
{
    Task& self = *current_task();
    SpinLockGuard guard(tree_lock());
    return (self.signals.pending.set | self.process->signals.shared.set) & self.signal_mask;
}

long suspend(SigSet mask)
{
    Task& self = *current_task();
    {
        SpinLockGuard guard(tree_lock());
        self.signals.saved_mask = self.signal_mask;
        self.signals.mask_saved = true;
        self.signal_mask = mask & ~UNBLOCKABLE;
        recalc_signal_pending_locked(self);
    }
    while (!current_signal_pending())
        sched::sleep_until_interruptible(~0ul);
    return -ERESTARTNOHAND;
}

long pause()
{
    while (!current_signal_pending())
        sched::sleep_until_interruptible(~0ul);
    return -ERESTARTNOHAND;
}

namespace {

// Take the first pending signal of `allowed` from `pending` into `info`.
int take_locked(PendingSignals& pending, SigSet allowed, uapi::siginfo_t& info)
{
    SigSet candidates = pending.set & allowed;
    if (!candidates)
        return 0;
    // Synchronous (fault) signals first, as Linux's next_signal.
    constexpr SigSet SYNCHRONOUS = signal_bit(SIGSEGV) | signal_bit(SIGBUS) | signal_bit(SIGILL) |
                                   signal_bit(SIGTRAP) | signal_bit(SIGFPE) | signal_bit(SIGSYS);
    SigSet first = candidates & SYNCHRONOUS ? candidates & SYNCHRONOUS : candidates;
    int signal = __builtin_ctzl(first) + 1;
    QueuedSignal* found = nullptr;
    bool another = false;
    for (QueuedSignal& queued : pending.queue) {
        if (queued.info.si_signo != signal)
            continue;
        if (found) {
            another = true;
            break;
        }
        found = &queued;
    }
    if (found) {
        info = found->info;
        pending.queue.remove(*found);
        kfree(found);
    } else {
        // Sent when no siginfo could be allocated (or by the kernel's timer).
        info = {};
        info.si_signo = signal;
        info.si_code = signal == SIGALRM ? SI_KERNEL : SI_USER;
    }
    if (!another)
        pending.set &= ~signal_bit(signal);
    return signal;
}

} // namespace

int dequeue_signal_locked(Task& task, SigSet allowed, uapi::siginfo_t& info)
{
    int signal = take_locked(task.signals.pending, allowed, info);
    if (!signal)
        signal = take_locked(task.process->signals.shared, allowed, info);
    recalc_signal_pending_locked(task);
    return signal;
}

long wait_for_signal(SigSet set, uapi::siginfo_t& info, u64 deadline_ns)
{
    Task& self = *current_task();
    set &= ~UNBLOCKABLE;
    SigSet real_mask;
    {
        SpinLockGuard guard(tree_lock());
        if (int signal = dequeue_signal_locked(self, set, info))
            return signal;
        if (deadline_ns == 0)
            return -EAGAIN;
        // Linux's do_sigtimedwait: the awaited signals count as unblocked
        // while it sleeps, so that a sender wakes this thread.
        real_mask = self.signal_mask;
        self.signal_mask &= ~set;
        recalc_signal_pending_locked(self);
    }
    bool reached = false;
    while (!current_signal_pending() && !reached)
        reached = sched::sleep_until_interruptible(deadline_ns);
    SpinLockGuard guard(tree_lock());
    self.signal_mask = real_mask;
    int signal = dequeue_signal_locked(self, set, info);
    if (signal)
        return signal;
    return reached ? -EAGAIN : -EINTR;
}

long alt_stack(const uapi::stack_t* new_stack, uapi::stack_t* old_stack, uptr sp)
{
    user::AltStack& stack = current_task()->signals.alt_stack;
    if (old_stack) {
        old_stack->ss_sp = reinterpret_cast<void*>(stack.sp);
        old_stack->ss_size = stack.size;
        old_stack->ss_flags = static_cast<int>(user::alt_stack_state(stack, sp) | (stack.flags & SS_AUTODISARM));
    }
    if (!new_stack)
        return 0;
    if (user::on_alt_stack(stack, sp))
        return -EPERM;
    u32 flags = static_cast<u32>(new_stack->ss_flags);
    u32 mode = flags & ~SS_AUTODISARM;
    if (mode != SS_DISABLE && mode != SS_ONSTACK && mode != 0)
        return -EINVAL;
    uptr new_sp = reinterpret_cast<uptr>(new_stack->ss_sp);
    usize new_size = new_stack->ss_size;
    if (mode == SS_DISABLE) {
        new_sp = 0;
        new_size = 0;
    } else if (new_size < MINSIGSTKSZ) {
        return -ENOMEM;
    }
    stack.sp = new_sp;
    stack.size = new_size;
    stack.flags = flags;
    return 0;
}

void copy_signal_actions(Process& child, const Process& parent)
{
    SpinLockGuard guard(tree_lock());
    memcpy(child.signals.actions, parent.signals.actions, sizeof child.signals.actions);
}

void reset_signals_for_exec(Process& process, Task& task)
{
    SpinLockGuard guard(tree_lock());
    for (SignalAction& action : process.signals.actions) {
        if (action.handler != SIG_IGN_VALUE)
            action.handler = SIG_DFL_VALUE;
        action.flags = 0;
        action.restorer = 0;
        action.mask = 0;
    }
    task.signals.alt_stack = {};
    task.signals.restart = {};
    task.signals.mask_saved = false;
}

void release_task_signals(Task& task)
{
    SpinLockGuard guard(tree_lock());
    flush_locked(task.signals.pending, ~0ul);
}

} // namespace proc
