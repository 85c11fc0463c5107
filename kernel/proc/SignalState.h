// What the signal layer keeps per thread group and per thread (Linux's
// sighand_struct + signal_struct, and the signal fields of task_struct).
// Every field here is guarded by the process tree lock (ProcessTree.h)
// unless it says otherwise: one lock for signals, process states and wait
// statuses keeps stop/continue/exit reporting simple to reason about, and
// the fast path (is anything pending on the way to user mode?) reads only
// Thread::signal_pending(), an atomic flag.
#pragma once

#include "arch/x86_64/user/SignalFrame.h"
#include "kernel/lib/IntrusiveList.h"
#include "kernel/lib/Types.h"
#include "kernel/sync/WaitQueue.h"
#include "kernel/time/Timer.h"
#include "uapi/signal.h"

namespace proc {

constexpr int SIGNAL_COUNT = 64; // _NSIG: signals 1..64
using SigSet = u64;

constexpr SigSet signal_bit(int signal) { return 1ul << (signal - 1); }
constexpr bool is_valid_signal(int signal) { return signal >= 1 && signal <= SIGNAL_COUNT; }
constexpr bool is_realtime_signal(int signal) { return signal >= SIGRTMIN; }

// SIGKILL and SIGSTOP can be neither caught, blocked nor ignored.
constexpr SigSet UNBLOCKABLE = signal_bit(SIGKILL) | signal_bit(SIGSTOP);

// One queued signal with its siginfo. A standard signal has at most one
// (a second send while pending is merged); a real-time one has one per send,
// delivered in the order sent.
struct QueuedSignal {
    uapi::siginfo_t info;
    ListNode node;
};

struct PendingSignals {
    SigSet set = 0;
    IntrusiveList<QueuedSignal, &QueuedSignal::node> queue;
};

// rt_sigaction's kernel layout (uapi struct sigaction).
struct SignalAction {
    u64 handler = SIG_DFL_VALUE;
    u64 flags = 0;
    u64 restorer = 0;
    SigSet mask = 0;
};

// The state of a group stop (SIGSTOP, SIGTSTP, ...), a small state machine:
//   Running  -> Stopping  a stop signal's default action ran: every thread
//                         has stop_pending and parks at its next return to
//                         user mode or interruptible sleep;
//   Stopping -> Stopped   the last thread parked: the parent is told
//                         (SIGCHLD CLD_STOPPED, wait's WUNTRACED);
//   Stopping/Stopped -> Running  SIGCONT (or SIGKILL) releases every thread;
//                         a Stopped group reports CLD_CONTINUED.
enum class GroupStop : u8 { Running, Stopping, Stopped };

struct SignalState {
    SignalAction actions[SIGNAL_COUNT];
    PendingSignals shared; // kill(), sent to the whole group

    GroupStop stop = GroupStop::Running;
    int stop_signal = 0;    // WSTOPSIG
    u32 stop_remaining = 0; // threads yet to park (Stopping)
    WaitQueue stop_wait;    // parked threads wait here for SIGCONT
    // A change the parent's wait has not reported yet (WUNTRACED / WCONTINUED).
    bool stop_unreported = false;
    bool continue_unreported = false;

    // ITIMER_REAL (alarm, setitimer): SIGALRM at real_deadline_ns, then every
    // real_interval_ns. The callback runs in the timer interrupt.
    Timer real_timer;
    bool real_armed = false;
    u64 real_deadline_ns = 0;
    u64 real_interval_ns = 0;
    // ITIMER_VIRTUAL / ITIMER_PROF: kept and reported, never fire.
    u64 cpu_timer_value_us[2] = {};
    u64 cpu_timer_interval_us[2] = {};
};

// restart_syscall(2): how to resume a syscall interrupted with
// -ERESTART_RESTARTBLOCK when no handler ran (Linux's restart_block).
struct RestartBlock {
    long (*resume)(RestartBlock& block) = nullptr;
    u64 deadline_ns = 0;
    int clock = 0;
    uptr remaining_out = 0; // nanosleep's rmtp
};

struct TaskSignals {
    PendingSignals pending; // tkill/tgkill and faults: this thread only
    // sigsuspend: the mask to put back once a handler ran (or none did).
    SigSet saved_mask = 0;
    bool mask_saved = false;
    bool stop_pending = false; // must park for the group stop
    // rt_sigtimedwait: the signals it waits for count as deliverable.
    SigSet waiting_for = 0;
    // --- touched only by the thread itself ---
    user::AltStack alt_stack;
    u64 trap_number = 0; // the last fault: sigcontext trapno, err, cr2
    u64 error_code = 0;
    u64 fault_address = 0;
    RestartBlock restart;
};

} // namespace proc
