// Wait queues: the kernel's one sleeping primitive.
//
// A WaitQueue is a list of entries, each with a wake function. Non-exclusive
// entries sit at the front, exclusive ones at the back, so a wake walks every
// non-exclusive waiter first and then stops after `nr_exclusive` exclusive
// waiters were woken: wake_one() wakes all non-exclusive waiters and exactly
// one exclusive waiter (no thundering herd), wake_all() wakes everybody.
// Custom wake functions (io_uring, poll) run under the queue lock, possibly in
// interrupt context, and must not sleep.
//
// wait_event(wq, condition) sleeps until condition() is true:
//
//   wait_event(m_space, [&] { return m_count < CAPACITY; });
//   ...
//   m_count--;            // make the condition true first,
//   m_space.wake_one();   // then wake (takes the queue lock: orders the two)
//
// It cannot lose a wake-up, even from an interrupt on another CPU: like
// Linux's prepare_to_wait(), the waiter queues its entry and marks itself
// Blocked (under the queue lock) *before* testing the condition. A waker that
// changed the condition either ran before the test (the test sees it) or
// finds the entry and makes the thread Runnable again, in which case the
// following schedule() returns at once and the loop tests again.
//
// Interruptible waits (wait_event_interruptible*) also end when the thread
// has a signal pending (Thread::signal_pending(), Linux's TASK_INTERRUPTIBLE
// sleep + signal_pending()): they return -ERESTARTSYS, which a syscall passes
// up unchanged; on the way back to user mode the signal layer turns it into
// -EINTR or restarts the call (kernel/lib/RestartErrno.h). The same race
// argument holds: the signal sender sets the flag, then wakes the thread
// (sched::wake_up), so the test after prepare_to_wait sees the flag or the
// schedule() returns at once. Any syscall that sleeps on behalf of user space
// for an unbounded time (a read that waits for data, a wait for completions)
// should use these; a spurious wake-up of an uninterruptible wait (which a
// signal sender may cause) only makes it test its condition again.
#pragma once

#include "kernel/lib/Atomic.h"
#include "kernel/lib/IntrusiveList.h"
#include "kernel/lib/RestartErrno.h"
#include "kernel/lib/Types.h"
#include "kernel/sched/Current.h"
#include "kernel/sched/DeadlineTimer.h"
#include "kernel/sched/Scheduler.h"
#include "kernel/sync/LockDebug.h"
#include "kernel/sync/SpinLock.h"

class Thread;
struct WaitQueueEntry;

// Wakes `entry`'s waiter; returns true if it did (an exclusive entry that
// returns true counts against nr_exclusive). Called with the queue lock held.
using WakeFunction = bool (*)(WaitQueueEntry& entry, void* key);

// Wakes the entry's thread and leaves the entry queued.
bool default_wake_function(WaitQueueEntry& entry, void* key);
// Wakes the entry's thread and, if it was asleep, unlinks the entry so that
// later wakes pass over it (the default for wait_event).
bool autoremove_wake_function(WaitQueueEntry& entry, void* key);

struct WaitQueueEntry {
    enum Flags : u32 {
        EXCLUSIVE = 1 << 0,
    };

    explicit WaitQueueEntry(Thread* waiter, u32 entry_flags = 0, WakeFunction function = autoremove_wake_function)
        : thread(waiter)
        , wake(function)
        , flags(entry_flags)
    {
    }
    WaitQueueEntry(const WaitQueueEntry&) = delete;
    WaitQueueEntry& operator=(const WaitQueueEntry&) = delete;

    bool is_exclusive() const { return flags & EXCLUSIVE; }

    ListNode node;  // on WaitQueue::m_entries, under the queue lock
    Thread* thread; // the waiter (may be null for custom wake functions)
    WakeFunction wake;
    void* context = nullptr; // for custom wake functions
    u32 flags;
    // True while on a queue. Cleared with release order as the very last
    // write a waker makes to the entry, so that finish_wait() can see an
    // autoremoved entry without taking the lock and the entry (often on the
    // waiter's stack) may go away at once.
    Atomic<bool> linked{false};
};

class WaitQueue {
public:
    WaitQueue() = default;
    WaitQueue(const WaitQueue&) = delete;
    WaitQueue& operator=(const WaitQueue&) = delete;

    // Queue `entry` (non-exclusive at the front, exclusive at the back).
    void add(WaitQueueEntry& entry);
    void remove(WaitQueueEntry& entry);

    // The two halves of a wait (wait_event uses them; custom waiters may too):
    // prepare_to_wait queues `entry` if it is not queued and marks the current
    // thread Blocked; finish_wait marks it Runnable and dequeues the entry,
    // returning true if a waker had already dequeued it (autoremove).
    void prepare_to_wait(WaitQueueEntry& entry);
    bool finish_wait(WaitQueueEntry& entry);

    // Each returns how many waiters were woken. Callable from interrupts.
    u32 wake_one(void* key = nullptr) { return wake(1, key); }
    u32 wake_all(void* key = nullptr) { return wake(0, key); }
    // Wake every non-exclusive waiter and up to `nr_exclusive` exclusive ones
    // (0: all of them).
    u32 wake(u32 nr_exclusive, void* key = nullptr);

    // Unlocked peek, for statistics and tests only.
    bool has_waiters_racy() const { return !m_entries.is_empty(); }
    usize waiter_count();

private:
    u32 wake_locked(u32 nr_exclusive, void* key);

    SpinLock m_lock{LockRank::WaitQueue, "wait queue"};
    IntrusiveList<WaitQueueEntry, &WaitQueueEntry::node> m_entries;
};

namespace wait_detail {

template <typename Condition>
void wait(WaitQueue& wq, u32 flags, Condition& condition)
{
    WaitQueueEntry entry(current_thread(), flags);
    for (;;) {
        wq.prepare_to_wait(entry);
        if (condition())
            break;
        sched::schedule();
    }
    wq.finish_wait(entry);
}

template <typename Condition>
bool wait_timeout(WaitQueue& wq, u32 flags, Condition& condition, u64 timeout_ns)
{
    sched::DeadlineTimer timer(sched::deadline_after(timeout_ns));
    WaitQueueEntry entry(current_thread(), flags);
    bool satisfied;
    for (;;) {
        wq.prepare_to_wait(entry);
        satisfied = condition();
        if (satisfied || timer.expired())
            break;
        sched::schedule();
    }
    bool woken = wq.finish_wait(entry);
    // An exclusive waiter that gives up may have consumed a wake-up meant for
    // the next waiter (its entry was autoremoved): pass it on.
    if (!satisfied && woken && (flags & WaitQueueEntry::EXCLUSIVE))
        wq.wake_one();
    return satisfied;
}

// 1: condition true, 0: deadline passed, -ERESTARTSYS: a signal is pending.
template <typename Condition>
int wait_interruptible(WaitQueue& wq, u32 flags, Condition& condition, u64 deadline_ns)
{
    sched::DeadlineTimer timer(deadline_ns);
    WaitQueueEntry entry(current_thread(), flags);
    int outcome;
    for (;;) {
        wq.prepare_to_wait(entry);
        if (condition()) {
            outcome = 1;
            break;
        }
        if (current_signal_pending()) {
            outcome = -ERESTARTSYS;
            break;
        }
        if (timer.expired()) {
            outcome = 0;
            break;
        }
        sched::schedule();
    }
    bool woken = wq.finish_wait(entry);
    if (outcome != 1 && woken && (flags & WaitQueueEntry::EXCLUSIVE))
        wq.wake_one(); // pass on a wake-up this waiter consumed (as wait_timeout)
    return outcome;
}

} // namespace wait_detail

// Sleep until condition() is true. Must not be called with a spinlock held
// or from an interrupt (checked in debug builds).
template <typename Condition>
void wait_event(WaitQueue& wq, Condition condition)
{
    lock_debug::assert_may_sleep("wait_event");
    if (condition())
        return;
    wait_detail::wait(wq, 0, condition);
}

// The same as an exclusive waiter: wake_one() wakes only one such waiter.
template <typename Condition>
void wait_event_exclusive(WaitQueue& wq, Condition condition)
{
    lock_debug::assert_may_sleep("wait_event_exclusive");
    if (condition())
        return;
    wait_detail::wait(wq, WaitQueueEntry::EXCLUSIVE, condition);
}

// Sleep until condition() is true or `timeout_ns` passed. Returns whether
// the condition was true (it is tested once more at the deadline).
template <typename Condition>
bool wait_event_timeout(WaitQueue& wq, Condition condition, u64 timeout_ns)
{
    lock_debug::assert_may_sleep("wait_event_timeout");
    if (condition())
        return true;
    return wait_detail::wait_timeout(wq, 0, condition, timeout_ns);
}

template <typename Condition>
bool wait_event_exclusive_timeout(WaitQueue& wq, Condition condition, u64 timeout_ns)
{
    lock_debug::assert_may_sleep("wait_event_exclusive_timeout");
    if (condition())
        return true;
    return wait_detail::wait_timeout(wq, WaitQueueEntry::EXCLUSIVE, condition, timeout_ns);
}

// Sleep until condition() is true or the thread has a signal pending.
// Returns 0, or -ERESTARTSYS if interrupted (the condition was false).
template <typename Condition>
int wait_event_interruptible(WaitQueue& wq, Condition condition)
{
    lock_debug::assert_may_sleep("wait_event_interruptible");
    if (condition())
        return 0;
    int outcome = wait_detail::wait_interruptible(wq, 0, condition, ~0ul);
    return outcome == 1 ? 0 : outcome;
}

template <typename Condition>
int wait_event_interruptible_exclusive(WaitQueue& wq, Condition condition)
{
    lock_debug::assert_may_sleep("wait_event_interruptible_exclusive");
    if (condition())
        return 0;
    int outcome = wait_detail::wait_interruptible(wq, WaitQueueEntry::EXCLUSIVE, condition, ~0ul);
    return outcome == 1 ? 0 : outcome;
}

// With a timeout: 1 if the condition became true, 0 if `timeout_ns` passed,
// -ERESTARTSYS if a signal interrupted the wait.
template <typename Condition>
int wait_event_interruptible_timeout(WaitQueue& wq, Condition condition, u64 timeout_ns)
{
    lock_debug::assert_may_sleep("wait_event_interruptible_timeout");
    if (condition())
        return 1;
    return wait_detail::wait_interruptible(wq, 0, condition, sched::deadline_after(timeout_ns));
}
