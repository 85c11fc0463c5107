#include "kernel/sched/DeadlineTimer.h"

#include "kernel/lib/Atomic.h"
#include "kernel/sched/Current.h"
#include "kernel/sched/Scheduler.h"
#include "kernel/time/Clock.h"

namespace sched {

DeadlineTimer::DeadlineTimer(u64 deadline_ns) : m_thread(current_thread()), m_deadline_ns(deadline_ns)
{
    m_timer.context = this;
    if (clock_ns() < deadline_ns) {
        timer_arm(m_timer, deadline_ns, &DeadlineTimer::fire);
        m_armed = true;
    }
}

DeadlineTimer::~DeadlineTimer()
{
    // Also waits for a callback still running on another CPU, which may be
    // using this object.
    if (m_armed)
        timer_cancel(m_timer);
}

bool DeadlineTimer::expired() const
{
    return m_fired.load(MemoryOrder::Acquire) || clock_ns() >= m_deadline_ns;
}

void DeadlineTimer::fire(Timer& timer)
{
    auto* self = static_cast<DeadlineTimer*>(timer.context);
    Thread* thread = self->m_thread;
    // Fired before the wake-up: the sleeper marks itself Blocked before it
    // tests expired(), so it either sees this or is woken by what follows.
    self->m_fired.store(true, MemoryOrder::SeqCst);
    wake_up(*thread);
}

} // namespace sched
