// A CPU's run queue: the Runnable threads waiting for that CPU, in
// round-robin order, plus the CPU's scheduling bookkeeping.
//
// The lock is a SpinLock of rank RunQueue. The scheduler holds it across a
// context switch (taken by the outgoing thread, released by the incoming one
// in sched::finish_switch), which is why it has raw lock()/unlock() here and
// is not taken through SpinLockGuard. Two run queues nest only in CPU index
// order (load balancing).
#pragma once

#include "kernel/lib/Atomic.h"
#include "kernel/lib/IntrusiveList.h"
#include "kernel/lib/Types.h"
#include "kernel/sched/Thread.h"
#include "kernel/sync/SpinLock.h"

class RunQueue {
public:
    RunQueue() = default;
    RunQueue(const RunQueue&) = delete;
    RunQueue& operator=(const RunQueue&) = delete;

    // Interrupts must be off; raises preempt_count like a SpinLockGuard.
    void lock()
    {
        preempt_disable();
        m_lock.acquire();
    }
    void unlock()
    {
        m_lock.release();
        preempt_enable_no_resched();
    }
    bool is_locked() const { return m_lock.is_locked(); }

    // All below: with the lock held.

    // Account `thread` to this CPU (m_on_rq, m_cpu) and queue it at the back.
    void enqueue(Thread& thread);
    // Put an accounted thread (the preempted or yielding current one) at the back.
    void requeue(Thread& thread);
    // Take the next thread to run off the list (it stays accounted here).
    Thread* pick_next();
    // Stop accounting the current thread, which is blocking or exiting.
    void deactivate(Thread& thread);
    // Unlink a queued thread that another CPU takes over (see migrate_to).
    Thread* find_movable();
    void remove_for_migration(Thread& thread);

    u32 cpu() const { return m_cpu; }
    Thread* idle_thread() const { return m_idle; }
    bool has_queued() const { return !m_queue.is_empty(); }
    // Lock-free reads for load balancing: stale by a little is fine.
    u32 nr_running() const { return m_nr_running.load(MemoryOrder::Relaxed); }
    bool is_active() const { return m_active.load(MemoryOrder::Acquire); }

private:
    friend struct SchedulerCore;

    SpinLock m_lock{LockRank::RunQueue, "run queue"};
    IntrusiveList<Thread, &Thread::m_run_node> m_queue;
    Atomic<u32> m_nr_running{0}; // threads accounted here (m_on_rq), idle excluded
    u32 m_cpu = 0;
    Atomic<bool> m_active{false}; // this CPU has joined the scheduler
    Thread* m_idle = nullptr;
    // The thread being switched away from, for finish_switch on the other side.
    Thread* m_switching_from = nullptr;
    u64 m_slice_start_ns = 0;
    bool m_wakeup_pending = false; // a woken thread waits behind a busy current one
    u64 m_ticks = 0;
    u64 m_switches = 0;
    u64 m_preemptions = 0;
    u64 m_pulled = 0;
};
