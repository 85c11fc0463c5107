// DeadlineTimer: a kernel timer that wakes the current thread at a deadline,
// for sleeps and wait timeouts. It lives on the sleeper's stack; the
// destructor cancels it (waiting for a callback running on another CPU).
#pragma once

#include "kernel/lib/Atomic.h"
#include "kernel/lib/Types.h"
#include "kernel/time/Timer.h"

class Thread;

namespace sched {

class DeadlineTimer {
public:
    explicit DeadlineTimer(u64 deadline_ns);
    ~DeadlineTimer();
    DeadlineTimer(const DeadlineTimer&) = delete;
    DeadlineTimer& operator=(const DeadlineTimer&) = delete;

    // The timer fired or the deadline has passed.
    bool expired() const;
    u64 deadline_ns() const { return m_deadline_ns; }

private:
    static void fire(Timer& timer);

    Timer m_timer;
    Thread* m_thread;
    u64 m_deadline_ns;
    bool m_armed = false;
    Atomic<bool> m_fired{false}; // written by the callback (another CPU possibly)
};

} // namespace sched
