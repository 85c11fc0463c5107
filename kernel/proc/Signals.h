// POSIX signals as Linux x86-64 implements them (kernel/signal.c,
// arch/x86/kernel/signal.c): sending (kill, tkill/tgkill, sigqueue, faults,
// the kernel's own SIGCHLD and SIGALRM), actions and masks, group stop and
// continue, and delivery on the way back to user mode.
//
// Pending signals are per thread (tkill, faults) and per process (kill);
// a standard signal is pending at most once (sends while pending merge), a
// real-time signal queues one siginfo per send. A thread takes its own
// pending signals before the process's, synchronous fault signals first,
// then the lowest number; one signal's queue is first-in first-out.
//
// Sending picks a thread that does not block the signal, raises its
// Thread::signal_pending flag and wakes it (a reschedule IPI brings it in
// from ring 3). The flag makes has_pending_work() true on the way to user
// mode and ends interruptible sleeps (kernel/sync/WaitQueue.h), whose
// syscalls return -ERESTARTSYS & co. (kernel/lib/RestartErrno.h);
// do_pending_work() then runs the action, rewriting the syscall's result to
// -EINTR or restarting it as Linux does.
//
// Locking: all of it under the process tree lock (SignalState.h).
#pragma once

#include "arch/x86_64/user/UserFrame.h"
#include "kernel/proc/Process.h"
#include "kernel/proc/SignalState.h"

namespace proc {

enum class DefaultAction : u8 { Terminate, Core, Ignore, Stop, Continue };
DefaultAction default_action(int signal);

// A siginfo for a signal sent by a process (SI_USER from kill, SI_TKILL).
uapi::siginfo_t sender_siginfo(int signal, int code);

// --- sending (tree lock held) -------------------------------------------------
// Queue `info` for `process` (thread == null) or one of its threads. Ignored
// signals are dropped, SIGCONT and stop signals take effect at once, and a
// fatal signal nobody handles ends the group at once (Linux's
// complete_signal). EAGAIN if a real-time signal with its own siginfo cannot
// be queued.
Result<void> send_signal_locked(Process& process, Task* thread, const uapi::siginfo_t& info);
// SIGALRM & co. from a kernel timer (interrupt context: allocates nothing;
// the siginfo says SI_KERNEL).
void send_timer_signal_locked(Process& process, int signal);
// Take the next deliverable signal of `allowed` for `task` (its own first).
int dequeue_signal_locked(Task& task, SigSet allowed, uapi::siginfo_t& info);
// The group is ending: this task leaves at its next chance.
void mark_killed_locked(Task& task);
// End every thread of `process` with `wait_status` (SIGKILL, fatal signals).
void kill_group_locked(Process& process, u32 wait_status);
// Recompute `task`'s signal_pending flag after its mask or pending sets changed.
void recalc_signal_pending_locked(Task& task);

// kill(2) (pid > 0, 0, -1, < -1), tkill/tgkill (tgid <= 0: any group),
// rt_sigqueueinfo / rt_tgsigqueueinfo with a caller-built siginfo.
// Return 0 or -errno.
long kill(pid_t pid, int signal);
long kill_thread(pid_t tgid, pid_t tid, int signal);
long queue_signal(pid_t tgid, pid_t tid, int signal, const uapi::siginfo_t& info);

// --- the calling thread's masks and actions --------------------------------
// rt_sigprocmask's SIG_SETMASK (SIGKILL/SIGSTOP cannot be blocked).
void set_signal_mask(SigSet mask);
SigSet signal_mask();
// rt_sigaction: EINVAL for a bad number or for catching SIGKILL/SIGSTOP.
Result<SignalAction> change_action(int signal, const SignalAction* action);
// rt_sigpending: blocked signals pending for the thread or its process.
SigSet pending_signals();
// rt_sigsuspend: -ERESTARTNOHAND once a signal is pending; the mask goes
// back when the handler returns.
long suspend(SigSet mask);
// pause(2).
long pause();
// rt_sigtimedwait: take one of `set`; EAGAIN at the deadline (~0: none),
// EINTR if another signal interrupts. Returns the signal.
long wait_for_signal(SigSet set, uapi::siginfo_t& info, u64 deadline_ns);
// sigaltstack(2) on the calling thread; `sp` is its user stack pointer.
long alt_stack(const uapi::stack_t* new_stack, uapi::stack_t* old_stack, uptr sp);

// --- delivery and the kernel's own signals -----------------------------------
bool has_pending_work();
void do_pending_work(UserFrame& frame);
// An exception in ring 3 mm could not resolve (user::Hooks::fault).
void handle_user_fault(UserFrame& frame, int signal, int code, uptr address);
// rt_sigreturn: the frame's registers, FPU, mask and alternate stack back.
long signal_return(UserFrame& frame);

// The child ended (tree lock held, child a zombie): send its exit signal to
// the parent and wake the parent's wait. True if the child is to be reaped
// at once (SIGCHLD ignored or SA_NOCLDWAIT).
bool notify_parent_of_exit_locked(Process& child);
// The group stopped (CLD_STOPPED, status = the stop signal) or continued
// (CLD_CONTINUED, SIGCONT): SIGCHLD unless the parent ignores it or asked
// SA_NOCLDSTOP, and a wake-up for its wait.
void notify_parent_of_stop_locked(Process& process, int code, int status);

// fork/clone (a new process): the handlers of `parent`; execve: handlers
// back to SIG_DFL except ignored ones, no alternate stack.
void copy_signal_actions(Process& child, const Process& parent);
void reset_signals_for_exec(Process& process, Task& task);
// Process exit: stop the ITIMER_REAL timer and free what is still queued.
void release_signals(Process& process);
void release_task_signals(Task& task);

// ITIMER_REAL: arm (value 0: disarm) and read back, nanoseconds.
struct RealTimer {
    u64 value_ns = 0;
    u64 interval_ns = 0;
};
RealTimer set_real_timer(Process& process, const RealTimer& timer);
RealTimer get_real_timer(Process& process);

} // namespace proc
