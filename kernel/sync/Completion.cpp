#include "kernel/sync/Completion.h"

bool Completion::try_consume()
{
    u32 done = __atomic_load_n(&m_done, __ATOMIC_ACQUIRE);
    for (;;) {
        if (done == 0)
            return false;
        if (done == DONE_ALL)
            return true;
        if (__atomic_compare_exchange_n(&m_done, &done, done - 1, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            return true;
    }
}

void Completion::complete()
{
    u32 done = __atomic_load_n(&m_done, __ATOMIC_RELAXED);
    while (done != DONE_ALL && done != DONE_ALL - 1) {
        if (__atomic_compare_exchange_n(&m_done, &done, done + 1, false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
            break;
    }
    // Waiters are exclusive: one completion wakes one of them.
    m_wait_queue.wake_one();
}

void Completion::complete_all()
{
    __atomic_store_n(&m_done, DONE_ALL, __ATOMIC_RELEASE);
    m_wait_queue.wake_all();
}

void Completion::wait()
{
    wait_event_exclusive(m_wait_queue, [this] { return try_consume(); });
}

bool Completion::wait_for(u64 timeout_ns)
{
    return wait_event_exclusive_timeout(m_wait_queue, [this] { return try_consume(); }, timeout_ns);
}
