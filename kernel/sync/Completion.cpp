#include "kernel/lib/Atomic.h"
#include "kernel/sync/Completion.h"

bool Completion::try_consume()
{
    u32 done = m_done.load(MemoryOrder::Acquire);
    for (;;) {
        if (done == 0)
            return false;
        if (done == DONE_ALL)
            return true;
        if (m_done.compare_exchange_strong(done, done - 1, MemoryOrder::AcqRel, MemoryOrder::Acquire))
            return true;
    }
}

void Completion::complete()
{
    u32 done = m_done.load(MemoryOrder::Relaxed);
    while (done != DONE_ALL && done != DONE_ALL - 1) {
        if (m_done.compare_exchange_strong(done, done + 1, MemoryOrder::AcqRel, MemoryOrder::Relaxed))
            break;
    }
    // Waiters are exclusive: one completion wakes one of them.
    m_wait_queue.wake_one();
}

void Completion::complete_all()
{
    m_done.store(DONE_ALL, MemoryOrder::Release);
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
