// Ticket spinlock that disables interrupts while held (so an interrupt handler
// on the same CPU can never spin on a lock its CPU already holds) and raises
// the CPU's preempt_count (so that sleeping under it is caught, see
// kernel/sync/LockDebug.h).
//
// Only RAII guards take it:  SpinLockGuard guard(m_lock);
// Each lock names its rank in the lock order (kernel/sync/LockRank.h):
//   SpinLock m_lock{LockRank::Driver, "nvme sq"};
#pragma once

#include "arch/x86_64/Cpu.h"
#include "arch/x86_64/PerCpu.h"
#include "kernel/lib/Atomic.h"
#include "kernel/lib/Types.h"
#include "kernel/sync/LockDebug.h"
#include "kernel/sync/LockRank.h"

class SpinLockGuard;

class SpinLock {
public:
    using Guard = SpinLockGuard;

    constexpr explicit SpinLock(LockRank rank, const char* name)
        : m_name(name)
        , m_rank(rank)
    {
    }
    SpinLock(const SpinLock&) = delete;
    SpinLock& operator=(const SpinLock&) = delete;

    bool is_locked() const
    {
        return m_owner.load(MemoryOrder::Relaxed) != m_next.load(MemoryOrder::Relaxed);
    }
    const char* name() const { return m_name; }
    LockRank rank() const { return m_rank; }

private:
    friend class SpinLockGuard;
    // The scheduler holds a run queue lock across a context switch: taken by
    // the outgoing thread, released by the incoming one (kernel/sched).
    friend class RunQueue;

    // Interrupts must already be off.
    void acquire()
    {
        lock_debug::spinlock_acquiring(this, m_rank, m_name);
        u32 ticket = m_next.fetch_add(1, MemoryOrder::Relaxed);
        while (m_owner.load(MemoryOrder::Acquire) != ticket)
            x86::pause();
        lock_debug::spinlock_acquired(this, m_rank, m_name);
    }

    void release()
    {
        lock_debug::spinlock_released(this);
        // Only the holder writes m_owner.
        m_owner.store(m_owner.load(MemoryOrder::Relaxed) + 1, MemoryOrder::Release);
    }

    Atomic<u32> m_next;  // the next ticket to hand out
    Atomic<u32> m_owner; // the ticket now holding the lock
    const char* m_name;
    LockRank m_rank;
};

// preempt_count is only ever changed by its own CPU, with interrupts off or
// as a balanced pair, so a plain increment is enough.
inline void preempt_disable() { this_cpu().preempt_count++; }
inline void preempt_enable_no_resched() { this_cpu().preempt_count--; }

class [[nodiscard]] SpinLockGuard {
public:
    explicit SpinLockGuard(SpinLock& lock) : m_lock(lock)
    {
        m_interrupts_were_enabled = x86::save_and_disable_interrupts();
        preempt_disable();
        m_lock.acquire();
    }
    ~SpinLockGuard()
    {
        m_lock.release();
        // A wake-up aimed at this CPU while the lock was held also sent an
        // IPI (or came from this CPU's own interrupt, which sets need_resched
        // and preempts on its return): nothing to check here.
        preempt_enable_no_resched();
        x86::restore_interrupts(m_interrupts_were_enabled);
    }
    SpinLockGuard(const SpinLockGuard&) = delete;
    SpinLockGuard& operator=(const SpinLockGuard&) = delete;

private:
    SpinLock& m_lock;
    bool m_interrupts_were_enabled;
};
