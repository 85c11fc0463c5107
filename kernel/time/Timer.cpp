// Kernel timers: a sorted queue per CPU, one hardware one-shot per CPU set to
// the earlier of the first timer's deadline and the next scheduler tick.
#include "kernel/time/Timer.h"

#include "arch/x86_64/PerCpu.h"
#include "arch/x86_64/time/LapicTimer.h"
#include "kernel/debug/Panic.h"
#include "kernel/irq/Irq.h"
#include "kernel/lib/Atomic.h"
#include "kernel/sched/SchedHooks.h"
#include "kernel/time/Clock.h"
#include "kernel/time/TimerQueue.h"

namespace {

TimerQueue g_queues[MAX_CPUS];

TimerQueue& queue_of(u32 cpu) { return g_queues[cpu]; }

// Caller holds q.lock.
void program_hardware(TimerQueue& q)
{
    u64 next = q.next_tick_ns;
    if (q.head && q.head->deadline_ns < next)
        next = q.head->deadline_ns;
    q.programmed_ns = next;
    lapic_timer::program(next);
}

// Caller holds q.lock; the timer is pending on q.
void unlink(TimerQueue& q, Timer& timer)
{
    for (Timer** link = &q.head; *link; link = &(*link)->next) {
        if (*link == &timer) {
            *link = timer.next;
            timer.next = nullptr;
            break;
        }
    }
    timer.state.store(static_cast<u8>(TIMER_IDLE), MemoryOrder::Release);
}

// Take `timer` off whatever queue it is pending on. Returns true if it was pending.
bool remove_if_pending(Timer& timer)
{
    for (;;) {
        u32 cpu = timer.cpu.load(MemoryOrder::Acquire);
        TimerQueue& q = queue_of(cpu);
        SpinLockGuard guard(q.lock);
        if (timer.cpu.load(MemoryOrder::Acquire) != cpu)
            continue; // re-armed elsewhere meanwhile
        if (timer.state.load(MemoryOrder::Relaxed) != TIMER_PENDING)
            return false;
        unlink(q, timer);
        return true;
    }
}

} // namespace

void timer_arm(Timer& timer, u64 deadline_ns, Timer::Callback callback)
{
    remove_if_pending(timer);
    bool were_enabled = x86::save_and_disable_interrupts();
    u32 cpu = current_cpu_index();
    TimerQueue& q = queue_of(cpu);
    {
        SpinLockGuard guard(q.lock);
        timer.deadline_ns = deadline_ns;
        timer.callback = callback;
        timer.cpu.store(cpu, MemoryOrder::Release);
        Timer** link = &q.head;
        while (*link && (*link)->deadline_ns <= deadline_ns)
            link = &(*link)->next;
        timer.next = *link;
        *link = &timer;
        timer.state.store(static_cast<u8>(TIMER_PENDING), MemoryOrder::Release);
        // Only an earlier deadline than the one programmed needs the
        // hardware touched; from inside the timer interrupt the handler
        // reprograms on its way out anyway.
        if (q.head == &timer && deadline_ns < q.programmed_ns && q.running.load(MemoryOrder::Relaxed) == nullptr)
            program_hardware(q);
    }
    x86::restore_interrupts(were_enabled);
}

bool timer_cancel(Timer& timer)
{
    bool was_pending = remove_if_pending(timer);
    // If the callback is running on another CPU, wait for it to return, so
    // the owner may free the timer afterwards (as Linux's del_timer_sync).
    u32 cpu = timer.cpu.load(MemoryOrder::Acquire);
    if (cpu != current_cpu_index()) {
        while (queue_of(cpu).running.load(MemoryOrder::Acquire) == &timer)
            x86::pause();
    }
    return was_pending;
}

namespace timers {

void init_boot()
{
    lapic_timer::calibrate();
    irq::set_system_handler(irq::VECTOR_TIMER, handle_interrupt, nullptr, "timer");
    init_this_cpu();
}

void init_this_cpu()
{
    TimerQueue& q = queue_of(current_cpu_index());
    this_cpu().timer_queue = &q;
    SpinLockGuard guard(q.lock);
    q.next_tick_ns = clock_ns() + SCHED_TICK_NS;
    program_hardware(q);
}

void handle_interrupt(void*)
{
    TimerQueue& q = queue_of(current_cpu_index());
    u64 now = clock_ns();
    bool tick = false;
    {
        SpinLockGuard guard(q.lock);
        if (now >= q.next_tick_ns) {
            tick = true;
            q.ticks.store(q.ticks.load(MemoryOrder::Relaxed) + 1, MemoryOrder::Relaxed); // only this CPU writes
            q.next_tick_ns += SCHED_TICK_NS;
            // Ticks missed (a long stretch with interrupts off, or the host
            // descheduling us under TCG) are dropped, not replayed in a burst.
            if (q.next_tick_ns <= now)
                q.next_tick_ns = now + SCHED_TICK_NS;
        }
    }
    for (;;) {
        Timer* timer;
        {
            SpinLockGuard guard(q.lock);
            timer = q.head;
            if (!timer || timer->deadline_ns > clock_ns())
                break;
            unlink(q, *timer);
            q.running.store(timer, MemoryOrder::Release);
        }
        timer->callback(*timer);
        q.running.store(static_cast<Timer*>(nullptr), MemoryOrder::Release);
        q.fired.store(q.fired.load(MemoryOrder::Relaxed) + 1, MemoryOrder::Relaxed); // only this CPU writes
    }
    if (tick)
        sched::timer_tick();
    SpinLockGuard guard(q.lock);
    program_hardware(q);
}

u64 fired_count(u32 cpu) { return queue_of(cpu).fired.load(MemoryOrder::Relaxed); }

u64 tick_count(u32 cpu) { return queue_of(cpu).ticks.load(MemoryOrder::Relaxed); }

} // namespace timers
