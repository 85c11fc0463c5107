// Mutex: a sleeping lock with a recorded owner.
//
//   Mutex m_lock{LockRank::MutexDriver, "nvme admin"};
//   MutexGuard guard(m_lock);
//
// Contended lockers sleep on a wait queue as exclusive waiters, so an unlock
// wakes one of them. It is not fair: a running thread may take the mutex
// before the woken one gets to it (the woken one then sleeps again). Taking
// it with a spinlock held, from an interrupt, or recursively panics in debug
// builds, as does breaking the lock order (kernel/sync/LockRank.h).
#pragma once

#include "kernel/lib/Atomic.h"
#include "kernel/lib/Types.h"
#include "kernel/sync/LockRank.h"
#include "kernel/sync/WaitQueue.h"

class MutexGuard;

class Mutex {
public:
    using Guard = MutexGuard;

    explicit Mutex(LockRank rank, const char* name)
        : m_name(name)
        , m_rank(rank)
    {
    }
    Mutex(const Mutex&) = delete;
    Mutex& operator=(const Mutex&) = delete;

    Thread* owner() const { return m_owner.load(MemoryOrder::Relaxed); }
    bool is_locked() const { return owner() != nullptr; }
    bool is_locked_by_current() const { return owner() == current_thread(); }
    const char* name() const { return m_name; }
    LockRank rank() const { return m_rank; }

private:
    friend class MutexGuard;
    friend class MutexTryGuard;

    void lock();
    bool try_lock();
    void unlock();
    bool try_take(Thread* self);

    Atomic<Thread*> m_owner;
    Atomic<u32> m_waiters; // threads in the slow path of lock()
    WaitQueue m_wait_queue;
    const char* m_name;
    LockRank m_rank;
};

class [[nodiscard]] MutexGuard {
public:
    explicit MutexGuard(Mutex& mutex) : m_mutex(mutex) { m_mutex.lock(); }
    ~MutexGuard() { m_mutex.unlock(); }
    MutexGuard(const MutexGuard&) = delete;
    MutexGuard& operator=(const MutexGuard&) = delete;

private:
    Mutex& m_mutex;
};

// Takes the mutex only if it is free at once (for callers that must not wait:
// reclaim, whose wait could be on a holder waiting for memory); owns() says
// whether it did.
class [[nodiscard]] MutexTryGuard {
public:
    explicit MutexTryGuard(Mutex& mutex) : m_mutex(mutex), m_owns(mutex.try_lock()) { }
    ~MutexTryGuard()
    {
        if (m_owns)
            m_mutex.unlock();
    }
    MutexTryGuard(const MutexTryGuard&) = delete;
    MutexTryGuard& operator=(const MutexTryGuard&) = delete;
    bool owns() const { return m_owns; }

private:
    Mutex& m_mutex;
    bool m_owns;
};
