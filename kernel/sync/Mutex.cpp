#include "kernel/sync/Mutex.h"

#include "kernel/debug/Panic.h"
#include "kernel/sched/Thread.h"
#include "kernel/sync/LockDebug.h"

bool Mutex::try_take(Thread* self)
{
    Thread* expected = nullptr;
    return m_owner.compare_exchange_strong(expected, self, MemoryOrder::Acquire, MemoryOrder::Relaxed);
}

void Mutex::lock()
{
    lock_debug::assert_may_sleep(m_name);
    Thread* self = current_thread();
    ASSERT(self);
    if (owner() == self)
        panic("mutex \"%s\" locked recursively by thread %s", m_name, self->name());
    lock_debug::mutex_acquiring(self->held_mutexes(), this, m_rank, m_name);
    if (!try_take(self)) {
        // Announce ourselves before the next attempt: unlock() clears the
        // owner and then reads m_waiters (both sequentially consistent), so
        // either our attempt sees the mutex free or unlock() sees us.
        m_waiters.fetch_add(1, MemoryOrder::SeqCst);
        wait_event_exclusive(m_wait_queue, [&] { return try_take(self); });
        m_waiters.fetch_sub(1, MemoryOrder::SeqCst);
    }
    lock_debug::mutex_acquired(self->held_mutexes(), this, m_rank, m_name);
}

bool Mutex::try_lock()
{
    Thread* self = current_thread();
    lock_debug::mutex_acquiring(self->held_mutexes(), this, m_rank, m_name);
    if (!try_take(self))
        return false;
    lock_debug::mutex_acquired(self->held_mutexes(), this, m_rank, m_name);
    return true;
}

void Mutex::unlock()
{
    Thread* self = current_thread();
    if (owner() != self)
        panic("mutex \"%s\" unlocked by %s, not its owner", m_name, self ? self->name() : "(boot)");
    lock_debug::mutex_released(self->held_mutexes(), this);
    m_owner.store(nullptr, MemoryOrder::SeqCst);
    if (m_waiters.load(MemoryOrder::SeqCst))
        m_wait_queue.wake_one();
}
