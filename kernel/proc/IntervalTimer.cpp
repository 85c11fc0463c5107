// ITIMER_REAL (alarm(2), setitimer(2)): a kernel timer per process that
// sends SIGALRM, re-armed by its own callback for an interval timer.
#include "kernel/mm/Heap.h"
#include "kernel/proc/ProcessTable.h"
#include "kernel/proc/Signals.h"
#include "kernel/sched/Scheduler.h"
#include "kernel/time/Clock.h"

namespace proc {
namespace {

// Timer interrupt, interrupts off. The process outlives an armed timer:
// release_signals cancels it (and waits for a running callback) first.
void real_timer_fired(Timer& timer)
{
    auto* process = static_cast<Process*>(timer.context);
    SpinLockGuard guard(tree_lock());
    SignalState& s = process->signals;
    if (!s.real_armed)
        return;
    send_timer_signal_locked(*process, SIGALRM);
    if (s.real_interval_ns) {
        s.real_deadline_ns += s.real_interval_ns;
        u64 now = clock_ns();
        if (s.real_deadline_ns <= now) // overruns are dropped, not replayed
            s.real_deadline_ns = now + s.real_interval_ns;
        timer_arm(s.real_timer, s.real_deadline_ns, real_timer_fired);
    } else {
        s.real_armed = false;
    }
}

RealTimer remaining_locked(const SignalState& s)
{
    if (!s.real_armed)
        return {};
    u64 now = clock_ns();
    // An expired timer whose callback has not run yet still reads as armed
    // (Linux reports 1 us then).
    u64 left = s.real_deadline_ns > now ? s.real_deadline_ns - now : 1000;
    return {left, s.real_interval_ns};
}

} // namespace

RealTimer set_real_timer(Process& process, const RealTimer& wanted)
{
    SignalState& s = process.signals;
    RealTimer old;
    {
        SpinLockGuard guard(tree_lock());
        old = remaining_locked(s);
        s.real_armed = false; // a callback running now will not re-arm
    }
    // The callback takes the tree lock: cancel outside it.
    timer_cancel(s.real_timer);
    SpinLockGuard guard(tree_lock());
    if (wanted.value_ns) {
        s.real_armed = true;
        s.real_deadline_ns = sched::deadline_after(wanted.value_ns);
        s.real_interval_ns = wanted.interval_ns;
        s.real_timer.context = &process;
        timer_arm(s.real_timer, s.real_deadline_ns, real_timer_fired);
    }
    return old;
}

RealTimer get_real_timer(Process& process)
{
    SpinLockGuard guard(tree_lock());
    return remaining_locked(process.signals);
}

void release_signals(Process& process)
{
    {
        SpinLockGuard guard(tree_lock());
        process.signals.real_armed = false;
    }
    timer_cancel(process.signals.real_timer);
    SpinLockGuard guard(tree_lock());
    PendingSignals& shared = process.signals.shared;
    while (QueuedSignal* queued = shared.queue.pop_front())
        kfree(queued);
    shared.set = 0;
}

} // namespace proc
