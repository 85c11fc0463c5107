// Ticket spinlock that disables interrupts while held (so an interrupt handler
// on the same CPU can never spin on a lock its CPU already holds).
//
// Only RAII guards take it:  SpinLockGuard guard(m_lock);
#pragma once

#include "arch/x86_64/Cpu.h"
#include "kernel/lib/Types.h"

class SpinLock {
public:
    constexpr SpinLock() = default;
    SpinLock(const SpinLock&) = delete;
    SpinLock& operator=(const SpinLock&) = delete;

    bool is_locked() const
    {
        return __atomic_load_n(&m_owner, __ATOMIC_RELAXED) != __atomic_load_n(&m_next, __ATOMIC_RELAXED);
    }

private:
    friend class SpinLockGuard;

    void acquire()
    {
        u32 ticket = __atomic_fetch_add(&m_next, 1, __ATOMIC_RELAXED);
        while (__atomic_load_n(&m_owner, __ATOMIC_ACQUIRE) != ticket)
            x86::pause();
    }

    bool try_acquire()
    {
        u32 owner = __atomic_load_n(&m_owner, __ATOMIC_RELAXED);
        u32 expected = owner;
        return __atomic_compare_exchange_n(&m_next, &expected, owner + 1, false, __ATOMIC_ACQUIRE,
                                           __ATOMIC_RELAXED);
    }

    void release() { __atomic_store_n(&m_owner, m_owner + 1, __ATOMIC_RELEASE); }

    u32 m_next = 0;
    u32 m_owner = 0;
};

class [[nodiscard]] SpinLockGuard {
public:
    explicit SpinLockGuard(SpinLock& lock) : m_lock(lock)
    {
        m_interrupts_were_enabled = x86::save_and_disable_interrupts();
        m_lock.acquire();
    }
    ~SpinLockGuard()
    {
        m_lock.release();
        x86::restore_interrupts(m_interrupts_were_enabled);
    }
    SpinLockGuard(const SpinLockGuard&) = delete;
    SpinLockGuard& operator=(const SpinLockGuard&) = delete;

private:
    SpinLock& m_lock;
    bool m_interrupts_were_enabled;
};
