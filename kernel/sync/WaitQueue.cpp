#include "kernel/sync/WaitQueue.h"

#include "kernel/debug/Panic.h"
#include "kernel/lib/Atomic.h"
#include "kernel/sched/Scheduler.h"

bool default_wake_function(WaitQueueEntry& entry, void*)
{
    return entry.thread && sched::wake_up(*entry.thread);
}

bool autoremove_wake_function(WaitQueueEntry& entry, void* key)
{
    if (!default_wake_function(entry, key))
        return false;
    // The waiter may be running already; it takes the queue lock in
    // finish_wait() unless it sees `linked` clear, which must therefore be
    // the last thing written here.
    IntrusiveList<WaitQueueEntry, &WaitQueueEntry::node>::remove(entry);
    entry.linked.store(false, MemoryOrder::Release);
    return true;
}

void WaitQueue::add(WaitQueueEntry& entry)
{
    SpinLockGuard guard(m_lock);
    ASSERT(!entry.linked.load(MemoryOrder::Relaxed));
    if (entry.is_exclusive())
        m_entries.push_back(entry);
    else
        m_entries.push_front(entry);
    entry.linked.store(true, MemoryOrder::Relaxed);
}

void WaitQueue::remove(WaitQueueEntry& entry)
{
    SpinLockGuard guard(m_lock);
    if (entry.linked.load(MemoryOrder::Relaxed)) {
        m_entries.remove(entry);
        entry.linked.store(false, MemoryOrder::Relaxed);
    }
}

void WaitQueue::prepare_to_wait(WaitQueueEntry& entry)
{
    SpinLockGuard guard(m_lock);
    if (!entry.linked.load(MemoryOrder::Relaxed)) {
        if (entry.is_exclusive())
            m_entries.push_back(entry);
        else
            m_entries.push_front(entry);
        entry.linked.store(true, MemoryOrder::Relaxed);
    }
    // Blocked before the caller tests its condition: a waker that makes the
    // condition true after the test will find the entry (it takes this lock)
    // and a Blocked thread to wake.
    sched::set_current_state(ThreadState::Blocked);
}

bool WaitQueue::finish_wait(WaitQueueEntry& entry)
{
    sched::set_current_state(ThreadState::Runnable);
    if (!entry.linked.load(MemoryOrder::Acquire))
        return true;
    SpinLockGuard guard(m_lock);
    if (!entry.linked.load(MemoryOrder::Relaxed))
        return true;
    m_entries.remove(entry);
    entry.linked.store(false, MemoryOrder::Relaxed);
    return false;
}

u32 WaitQueue::wake(u32 nr_exclusive, void* key)
{
    SpinLockGuard guard(m_lock);
    return wake_locked(nr_exclusive, key);
}

u32 WaitQueue::wake_locked(u32 nr_exclusive, void* key)
{
    u32 woken = 0;
    // Non-exclusive entries come first; the loop stops once `nr_exclusive`
    // exclusive waiters were woken. The iterator has already read the next
    // entry, so a wake function may unlink the current one.
    for (auto it = m_entries.begin(); it != m_entries.end(); ++it) {
        WaitQueueEntry& entry = *it;
        bool exclusive = entry.is_exclusive(); // before the entry may go away
        if (!entry.wake(entry, key))
            continue;
        woken++;
        if (exclusive && nr_exclusive && --nr_exclusive == 0)
            break;
    }
    return woken;
}

usize WaitQueue::waiter_count()
{
    SpinLockGuard guard(m_lock);
    return m_entries.size_slow();
}
