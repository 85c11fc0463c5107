// The life cycle of a kernel thread (kernel/sched/Thread.h).
//
// Besides its state a thread has three scheduler flags, all changed with the
// interrupts off:
//   m_cpu    the run queue it belongs to (last ran on, or is queued on);
//   m_on_rq  it is accounted to run queue m_cpu: it is that CPU's current
//            thread or linked on that queue's list (m_run_node);
//   m_on_cpu a CPU is using its stack: set when a CPU picks it, cleared by the
//            same CPU once it has switched away to another thread.
// m_cpu and m_on_rq change only with run queue m_cpu locked, except when the
// thread is off every queue (then m_wake_lock serialises the one waker that
// moves it). A thread can be run by a CPU only when m_on_cpu is clear.
#pragma once

#include "kernel/lib/Types.h"

enum class ThreadState : u8 {
    // Built by Thread::create, not started. Owned by the creator; on no
    // list; no CPU has touched it.
    Created,
    // Wants the CPU: m_on_rq is set and it is either running on m_cpu (that
    // CPU's current_thread) or linked on m_cpu's run queue. The scheduler
    // owns its run-queue link.
    Runnable,
    // Waiting for sched::wake_up(). Set by the thread itself before it
    // sleeps (prepare_to_wait, a sleep), so for a while it still runs on its
    // CPU (m_on_rq; after a preemption possibly queued) and must test its
    // wake condition; schedule() then takes it off the run queue (m_on_rq
    // clear). Its wait-queue entries and deadline timer, owned by the waiting
    // code, point at it; a waker makes it Runnable again and, if it was off
    // the run queue, queues it on a CPU.
    Blocked,
    // Transient: a waker has claimed a Blocked thread that was off its run
    // queue and is moving it onto one (under m_wake_lock).
    Waking,
    // Returned from its entry function or called Thread::exit(). On no list;
    // its stack stays in use until its CPU has switched away (m_on_cpu). The
    // joiner frees it (or, for a detached thread, the scheduler).
    Dead,
};

const char* thread_state_name(ThreadState state);
