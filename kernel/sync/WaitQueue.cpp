#include "kernel/sync/WaitQueue.h"

#include "kernel/debug/Panic.h"
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
    __atomic_store_n(&entry.linked, false, __ATOMIC_RELEASE);
    return true;
}

void WaitQueue::add(WaitQueueEntry& entry)
{
    SpinLockGuard guard(m_lock);
    ASSERT(!entry.linked);
    if (entry.is_exclusive())
        m_entries.push_back(entry);
    else
        m_entries.push_front(entry);
    entry.linked = true;
}

void WaitQueue::remove(WaitQueueEntry& entry)
{
    SpinLockGuard guard(m_lock);
    if (entry.linked) {
        m_entries.remove(entry);
        entry.linked = false;
    }
}

void WaitQueue::prepare_to_wait(WaitQueueEntry& entry)
{
    SpinLockGuard guard(m_lock);
    if (!entry.linked) {
        if (entry.is_exclusive())
            m_entries.push_back(entry);
        else
            m_entries.push_front(entry);
        entry.linked = true;
    }
    // Blocked before the caller tests its condition: a waker that makes the
    // condition true after the test will find the entry (it takes this lock)
    // and a Blocked thread to wake.
    sched::set_current_state(ThreadState::Blocked);
}

bool WaitQueue::finish_wait(WaitQueueEntry& entry)
{
    sched::set_current_state(ThreadState::Runnable);
    if (!__atomic_load_n(&entry.linked, __ATOMIC_ACQUIRE))
        return true;
    SpinLockGuard guard(m_lock);
    if (!entry.linked)
        return true;
    m_entries.remove(entry);
    entry.linked = false;
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
