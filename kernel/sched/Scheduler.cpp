// The scheduler core: schedule(), the context switch bookkeeping, wake-ups,
// load balancing, the idle loop and the hooks the interrupt code calls
// (kernel/sched/SchedHooks.h).
//
// Locking: each CPU's RunQueue lock protects its list and the m_cpu/m_on_rq
// of the threads accounted to it (ThreadState.h). schedule() takes the lock
// of its own CPU with interrupts off and holds it across the switch; the
// next thread releases it in finish_switch(). A waker takes the thread's
// m_wake_lock and then the run queue lock(s). Order: wait queue < thread
// wake lock < run queue (kernel/sync/LockRank.h).
#include "kernel/sched/Scheduler.h"

#include "arch/x86_64/Cpu.h"
#include "arch/x86_64/PerCpu.h"
#include "arch/x86_64/user/UserEntry.h"
#include "kernel/block/Plug.h"
#include "kernel/debug/Panic.h"
#include "kernel/irq/Ipi.h"
#include "kernel/lib/Atomic.h"
#include "kernel/log/Log.h"
#include "kernel/mm/AddressSpace.h"
#include "kernel/sched/DeadlineTimer.h"
#include "kernel/sched/RunQueue.h"
#include "kernel/sched/SchedHooks.h"
#include "kernel/sched/Thread.h"
#include "kernel/sched/ThreadAllocator.h"
#include "kernel/sync/WaitQueue.h"
#include "kernel/time/Clock.h"

extern "C" void sched_switch_context(u64* save_sp, u64 load_sp);
extern "C" [[noreturn]] void sched_thread_start(Thread* self);
extern "C" u8 boot_stack_bottom[];
extern "C" u8 boot_stack_top[];

namespace {

// How often (in scheduler ticks) a busy CPU looks for a much busier one.
constexpr u64 BALANCE_INTERVAL_TICKS = 4;

RunQueue g_run_queues[MAX_CPUS];
alignas(Thread) u8 g_idle_storage[MAX_CPUS][sizeof(Thread)];

// CPUs that have joined the scheduler, and the init thread waiting for all.
Atomic<u32> g_cpus_joined{0};
Atomic<bool> g_all_joined_logged{false};
WaitQueue g_cpus_joined_wait;
void (*g_init_main)() = nullptr;
Atomic<u32> g_spread_cursor{0};

RunQueue& this_rq() { return g_run_queues[current_cpu_index()]; }

} // namespace

// Everything that touches Thread and RunQueue internals (friend of both).
struct SchedulerCore {
    static Thread* adopt_current_context(u32 cpu, u8* stack_base, usize stack_size)
    {
        auto* idle = new (g_idle_storage[cpu]) Thread();
        idle->m_id = Thread::allocate_id();
        char name[Thread::NAME_CAPACITY] = "idle/";
        usize n = 5;
        if (cpu >= 10)
            name[n++] = static_cast<char>('0' + cpu / 10);
        name[n++] = static_cast<char>('0' + cpu % 10);
        name[n] = '\0';
        idle->set_name(name);
        idle->m_is_idle = true;
        idle->m_state.store(ThreadState::Runnable, MemoryOrder::Relaxed);
        idle->m_on_cpu.store(true, MemoryOrder::Relaxed);
        idle->m_cpu.store(cpu, MemoryOrder::Relaxed);
        idle->m_pin_cpu.store(cpu, MemoryOrder::Relaxed);
        idle->m_stack_base = stack_base;
        idle->m_stack_size = stack_size;
        idle->write_stack_canary();

        RunQueue& rq = g_run_queues[cpu];
        rq.m_cpu = cpu;
        rq.m_idle = idle;
        PerCpu& percpu = this_cpu();
        percpu.run_queue = &rq;
        percpu.idle_thread = idle;
        percpu.current_thread = idle;
        percpu.preempt_count = 0;
        percpu.need_resched.store(false, MemoryOrder::Relaxed);
        rq.m_active.store(true, MemoryOrder::Release);
        return idle;
    }

    static void set_cpu(RunQueue& rq, u32 cpu) { rq.m_cpu = cpu; }

    static void check_stack(Thread& thread)
    {
#ifdef SLUICE_KERNEL_DEBUG
        if (!thread.stack_canary_intact())
            panic("stack overflow in thread %s (id %u)", thread.m_name, thread.m_id);
#else
        (void)thread;
#endif
    }

    // The heart of it. `preempted`: called from an interrupt return, so the
    // current thread goes back on the queue whatever its state (a thread
    // preempted between "Blocked" and schedule() must still get to test its
    // condition; a waker will find it on the run queue).
    static void schedule(bool preempted)
    {
        bool interrupts_were_enabled = x86::save_and_disable_interrupts();
        RunQueue& rq = this_rq();
        rq.lock();
        PerCpu& cpu = this_cpu();
        cpu.need_resched.store(false, MemoryOrder::Relaxed);
        Thread* prev = cpu.current_thread;
        check_stack(*prev);
        if (prev != rq.m_idle) {
            if (preempted || prev->state() == ThreadState::Runnable)
                rq.requeue(*prev);
            else
                rq.deactivate(*prev);
        }
        Thread* next = rq.pick_next();
        if (!next)
            next = rq.m_idle;
        if (next == prev) {
            rq.unlock();
            x86::restore_interrupts(interrupts_were_enabled);
            return;
        }
        ASSERT(!next->m_on_cpu.load(MemoryOrder::Acquire));
        if (preempted)
            rq.m_preemptions++;
        rq.m_switches++;
        next->m_switches++;
        next->m_on_cpu.store(true, MemoryOrder::Relaxed);
        rq.m_switching_from = prev;
        rq.m_wakeup_pending = false;
        cpu.current_thread = next;
        rq.m_slice_start_ns = clock_ns();
        switch_user_context(*prev, *next);
        sched_switch_context(&prev->m_saved_sp, next->m_saved_sp);
        // Back in `prev`, possibly on another CPU: nothing cached above is valid.
        finish_switch();
        x86::restore_interrupts(interrupts_were_enabled);
    }

    // What ring 3 needs switched (arch/x86_64/user/UserEntry.h): FPU state,
    // FS/GS bases and TSS.RSP0 of user threads, and the address space. A
    // kernel thread keeps whatever address space the CPU has loaded (it only
    // touches the shared kernel half), as Linux's lazy TLB mode does.
    static void switch_user_context(Thread& prev, Thread& next)
    {
        if (prev.m_user_state || next.m_user_state)
            user::switch_state(prev.m_user_state, next.m_user_state);
        if (next.m_address_space && next.m_address_space != mm::AddressSpace::active())
            next.m_address_space->activate();
    }

    // First thing on the incoming side of every switch (also for a new thread).
    static void finish_switch()
    {
        RunQueue& rq = this_rq();
        Thread* prev = rq.m_switching_from;
        rq.m_switching_from = nullptr;
        bool reap = prev->m_detached && prev->state() == ThreadState::Dead;
        // After this store another CPU may run (or the joiner free) `prev`.
        prev->m_on_cpu.store(false, MemoryOrder::Release);
        rq.unlock();
        if (reap)
            ThreadAllocator::free(prev);
    }

    // Lock the run queue `thread` belongs to. Its m_cpu changes only under
    // the old queue's lock (or with the thread off every queue, under its
    // m_wake_lock, which the caller holds), so re-check after locking.
    static RunQueue& lock_thread_rq(Thread& thread)
    {
        for (;;) {
            u32 cpu = thread.cpu();
            RunQueue& rq = g_run_queues[cpu];
            rq.lock();
            if (thread.cpu() == cpu)
                return rq;
            rq.unlock();
        }
    }

    // With `rq` locked, after queueing a thread that was asleep (or is new)
    // there: does its CPU need a nudge? An idle CPU does at once. A busy
    // one switches to it early if the woken thread is next in line and the
    // current thread has already run WAKEUP_PREEMPT_NS (now, or at the next
    // tick), so a wake-up is served within about a tick instead of a whole
    // time slice. Returns true if a reschedule IPI must be sent.
    static bool kick_after_wakeup(RunQueue& rq)
    {
        PerCpu& cpu = percpu::cpu(rq.m_cpu);
        // A CPU that has not joined yet runs its queue when it does.
        if (!rq.is_active())
            return false;
        if (cpu.current_thread != rq.m_idle) {
            if (rq.m_queue.first() != rq.m_queue.last())
                return false; // others are waiting already: plain round robin
            rq.m_wakeup_pending = true;
            if (clock_ns() - rq.m_slice_start_ns < sched::WAKEUP_PREEMPT_NS)
                return false; // timer_tick() will do it
        }
        cpu.need_resched.store(true, MemoryOrder::Release);
        return rq.m_cpu != current_cpu_index();
    }

    static u32 least_loaded_cpu()
    {
        u32 possible = percpu::possible_count();
        u32 start = g_spread_cursor.fetch_add(1, MemoryOrder::Relaxed) % possible;
        u32 best = current_cpu_index();
        u32 best_load = g_run_queues[best].nr_running();
        for (u32 i = 0; i < possible; i++) {
            u32 cpu = (start + i) % possible;
            RunQueue& rq = g_run_queues[cpu];
            if (!rq.is_active())
                continue;
            u32 load = rq.nr_running();
            if (load < best_load) {
                best = cpu;
                best_load = load;
            }
        }
        return best;
    }

    static u32 select_cpu_for_wake(Thread& thread)
    {
        if (thread.is_pinned())
            return thread.pinned_cpu();
        u32 previous = thread.cpu();
        RunQueue& rq = g_run_queues[previous];
        if (rq.is_active() && rq.nr_running() == 0)
            return previous;
        u32 best = least_loaded_cpu();
        if (!rq.is_active() || g_run_queues[best].nr_running() < rq.nr_running())
            return best;
        return previous;
    }

    static bool wake_up(Thread& thread)
    {
        if (thread.state() != ThreadState::Blocked)
            return false;
        u32 kick_cpu = MAX_CPUS;
        bool woke = false;
        {
            SpinLockGuard wake_guard(thread.m_wake_lock);
            if (thread.m_is_idle) {
                // Only the boot context waits as an idle thread (before
                // sched::start); it polls, so the state change is enough.
                ThreadState expected = ThreadState::Blocked;
                return thread.m_state.compare_exchange_strong(expected, ThreadState::Runnable, MemoryOrder::SeqCst, MemoryOrder::Relaxed);
            }
            RunQueue& rq = lock_thread_rq(thread);
            if (thread.m_on_rq) {
                // Still on its CPU (not yet switched out, or preempted before
                // it could block): Runnable is all it needs.
                ThreadState expected = ThreadState::Blocked;
                woke = thread.m_state.compare_exchange_strong(expected, ThreadState::Runnable, MemoryOrder::SeqCst, MemoryOrder::Relaxed);
                rq.unlock();
                return woke;
            }
            if (thread.state() != ThreadState::Blocked) {
                rq.unlock();
                return false;
            }
            // Off every queue: we own the wake-up now.
            thread.m_state.store(ThreadState::Waking, MemoryOrder::Relaxed);
            rq.unlock();
            // Its old CPU may still be switching away from it.
            while (thread.m_on_cpu.load(MemoryOrder::Acquire))
                x86::pause();
            RunQueue& target = g_run_queues[select_cpu_for_wake(thread)];
            target.lock();
            target.enqueue(thread);
            thread.m_state.store(ThreadState::Runnable, MemoryOrder::Release);
            if (kick_after_wakeup(target))
                kick_cpu = target.m_cpu;
            target.unlock();
            woke = true;
        }
        // The wake lock was our last access to `thread`.
        if (kick_cpu != MAX_CPUS)
            send_reschedule(kick_cpu);
        return woke;
    }

    static void start(Thread& thread)
    {
        ASSERT(thread.state() == ThreadState::Created);
        bool interrupts_were_enabled = x86::save_and_disable_interrupts();
        u32 cpu = thread.is_pinned() ? thread.pinned_cpu() : least_loaded_cpu();
        RunQueue& rq = g_run_queues[cpu];
        rq.lock();
        rq.enqueue(thread);
        thread.m_state.store(ThreadState::Runnable, MemoryOrder::Release);
        bool kick = kick_after_wakeup(rq);
        rq.unlock();
        if (kick)
            send_reschedule(cpu);
        x86::restore_interrupts(interrupts_were_enabled);
    }

    static void send_reschedule(u32 cpu) { send_reschedule_ipi(cpu); }

    // Move one unpinned queued thread from the busiest CPU to `self`, if the
    // busiest has at least `min_excess` more runnable threads. Interrupts off.
    static bool pull(RunQueue& self, u32 min_excess)
    {
        u32 possible = percpu::possible_count();
        RunQueue* busiest = nullptr;
        u32 busiest_load = 0;
        for (u32 cpu = 0; cpu < possible; cpu++) {
            RunQueue& rq = g_run_queues[cpu];
            if (&rq == &self || !rq.is_active())
                continue;
            u32 load = rq.nr_running();
            if (load > busiest_load) {
                busiest = &rq;
                busiest_load = load;
            }
        }
        // A CPU with one runnable thread is running it (or about to).
        if (!busiest || busiest_load < 2 || busiest_load < self.nr_running() + min_excess)
            return false;
        RunQueue& first = busiest->m_cpu < self.m_cpu ? *busiest : self;
        RunQueue& second = busiest->m_cpu < self.m_cpu ? self : *busiest;
        first.lock();
        second.lock();
        Thread* thread = busiest->find_movable();
        if (thread) {
            busiest->remove_for_migration(*thread);
            self.enqueue(*thread);
            self.m_pulled++;
        }
        second.unlock();
        first.unlock();
        return thread != nullptr;
    }

    [[noreturn]] static void idle_loop()
    {
        for (;;) {
            x86::disable_interrupts();
            RunQueue& rq = this_rq();
            if (!rq.has_queued())
                pull(rq, 1);
            if (rq.has_queued() || this_cpu().need_resched.load(MemoryOrder::Acquire)) {
                schedule(false);
                continue;
            }
            // A wake-up that queued a thread here after the test above also
            // sent an IPI, which "sti; hlt" cannot miss.
            x86::enable_interrupts_and_halt();
        }
    }

    static void timer_tick()
    {
        PerCpu& cpu = this_cpu();
        RunQueue& rq = g_run_queues[cpu.index];
        if (!rq.is_active())
            return;
        rq.m_ticks++;
        if (cpu.current_thread == rq.m_idle) {
            // The idle loop looks for work after every interrupt.
            if (rq.has_queued())
                cpu.need_resched.store(true, MemoryOrder::Relaxed);
            return;
        }
        if (rq.m_ticks % BALANCE_INTERVAL_TICKS == 0)
            pull(rq, 2);
        if (!rq.has_queued())
            return;
        u64 ran_ns = clock_ns() - rq.m_slice_start_ns;
        if (ran_ns >= sched::TIME_SLICE_NS || (rq.m_wakeup_pending && ran_ns >= sched::WAKEUP_PREEMPT_NS))
            cpu.need_resched.store(true, MemoryOrder::Relaxed);
    }

    static void cpu_joined()
    {
        u32 joined = g_cpus_joined.add_fetch(1, MemoryOrder::AcqRel);
        if (joined >= percpu::possible_count() && !g_all_joined_logged.exchange(true, MemoryOrder::AcqRel))
            log_info("sched", "scheduler running on %u CPUs", joined);
        g_cpus_joined_wait.wake_all();
    }

    static void set_current_state(ThreadState state)
    {
        // Sequentially consistent: a Blocked store must be visible before the
        // caller reads its wake condition (the waker writes the condition,
        // then reads the state).
        current_thread()->m_state.store(state, MemoryOrder::SeqCst);
    }

    [[noreturn]] static void thread_start(Thread& self)
    {
        finish_switch();
        x86::enable_interrupts();
        self.m_entry(self.m_argument);
        Thread::exit();
    }

    static void dump_state()
    {
        for (u32 cpu = 0; cpu < percpu::possible_count(); cpu++) {
            RunQueue& rq = g_run_queues[cpu];
            PerCpu& percpu = percpu::cpu(cpu);
            Thread* current = percpu.current_thread;
            log_raw("sched: cpu %u %s: running %s (%s), nr_running %u, need_resched %u, preempt %u, switches %lu\n",
                    cpu, rq.is_active() ? "active" : "inactive", current ? current->m_name : "-",
                    current ? thread_state_name(current->state()) : "-", rq.nr_running(), percpu.need_resched.load(MemoryOrder::Relaxed),
                    percpu.preempt_count, rq.m_switches);
            u32 shown = 0;
            for (Thread& thread : rq.m_queue) {
                if (shown++ == 16)
                    break;
                log_raw("sched:   queued %s id %u (%s)\n", thread.m_name, thread.m_id, thread_state_name(thread.state()));
            }
        }
    }

    static void dump_thread(Thread& thread)
    {
        log_raw("sched: thread %s id %u: %s, cpu %u, on_rq %u, on_cpu %u, pin %d\n", thread.m_name, thread.m_id,
                thread_state_name(thread.state()), thread.cpu(), thread.m_on_rq, thread.m_on_cpu.load(MemoryOrder::Relaxed),
                thread.is_pinned() ? static_cast<int>(thread.pinned_cpu()) : -1);
    }

    static sched::CpuStats stats(u32 cpu)
    {
        RunQueue& rq = g_run_queues[cpu];
        return sched::CpuStats{rq.m_switches, rq.m_preemptions, rq.m_pulled, rq.m_ticks};
    }
};

void Thread::start() { SchedulerCore::start(*this); }

Result<void> Thread::pin_current(u32 cpu)
{
    if (cpu != ThreadOptions::NO_PIN && (cpu >= percpu::possible_count() || !g_run_queues[cpu].is_active()))
        return Error::from_errno(EINVAL);
    Thread* self = current_thread();
    self->m_pin_cpu.store(cpu, MemoryOrder::Relaxed);
    // A wake-up places a pinned thread on its CPU: sleep for a moment and
    // let the timer's wake-up do the move.
    while (cpu != ThreadOptions::NO_PIN && current_cpu_index() != cpu)
        sched::sleep_for(1'000'000);
    return {};
}

// Called by sched_thread_trampoline (ContextSwitch.S) on a new thread's stack.
extern "C" [[noreturn]] void sched_thread_start(Thread* self) { SchedulerCore::thread_start(*self); }

namespace sched {

void init()
{
    for (u32 cpu = 0; cpu < MAX_CPUS; cpu++)
        SchedulerCore::set_cpu(g_run_queues[cpu], cpu);
    SchedulerCore::adopt_current_context(0, boot_stack_bottom, static_cast<usize>(boot_stack_top - boot_stack_bottom));
}

void start(void (*init_main)())
{
    g_init_main = init_main;
    auto init = Thread::create("init", [](void*) {
        wait_event(g_cpus_joined_wait,
                   [] { return g_cpus_joined.load(MemoryOrder::Acquire) >= percpu::possible_count(); });
        g_init_main();
    }, nullptr, {.detached = true});
    if (init.is_error())
        panic("sched: cannot create the init thread (errno %d)", init.error().code());
    init.value()->start();
    SchedulerCore::cpu_joined();
    SchedulerCore::idle_loop();
}

void schedule()
{
    lock_debug::assert_may_sleep("schedule");
    // A thread about to sleep first sends the I/O it has plugged, or it could
    // wait for its own unsent requests (Linux sched_submit_work).
    Thread* self = current_thread();
    if (self && self->block_plug() && self->state() != ThreadState::Runnable)
        block::flush_plug_before_sleep(*self->block_plug());
    SchedulerCore::schedule(false);
}

void yield() { schedule(); }

void set_current_state(ThreadState state)
{
    SchedulerCore::set_current_state(state);
}

bool wake_up(Thread& thread)
{
    bool interrupts_were_enabled = x86::save_and_disable_interrupts();
    bool woke = SchedulerCore::wake_up(thread);
    x86::restore_interrupts(interrupts_were_enabled);
    return woke;
}

u64 deadline_after(u64 timeout_ns)
{
    u64 now = clock_ns();
    return timeout_ns > ~0ul - now ? ~0ul : now + timeout_ns;
}

void sleep_until(u64 deadline_ns)
{
    lock_debug::assert_may_sleep("sleep");
    DeadlineTimer timer(deadline_ns);
    for (;;) {
        set_current_state(ThreadState::Blocked);
        if (timer.expired())
            break;
        schedule();
    }
    set_current_state(ThreadState::Runnable);
}

void sleep_for(u64 duration_ns) { sleep_until(deadline_after(duration_ns)); }

bool sleep_until_interruptible(u64 deadline_ns)
{
    lock_debug::assert_may_sleep("sleep");
    DeadlineTimer timer(deadline_ns);
    Thread* self = current_thread();
    bool reached;
    for (;;) {
        // Blocked before the tests: a signal sender sets the flag and then
        // wakes us, so either the test sees the flag or schedule() returns.
        set_current_state(ThreadState::Blocked);
        reached = timer.expired();
        if (reached || self->signal_pending())
            break;
        schedule();
    }
    set_current_state(ThreadState::Runnable);
    return reached;
}

u32 cpu_count() { return g_cpus_joined.load(MemoryOrder::Acquire); }

u32 load(u32 cpu) { return g_run_queues[cpu].nr_running(); }

CpuStats cpu_stats(u32 cpu) { return SchedulerCore::stats(cpu); }

void dump_state() { SchedulerCore::dump_state(); }

void dump_thread(Thread& thread) { SchedulerCore::dump_thread(thread); }

// kernel/sched/SchedHooks.h

void timer_tick() { SchedulerCore::timer_tick(); }

void preempt_on_interrupt_return()
{
    PerCpu& cpu = this_cpu();
    if (cpu.preempt_count != 0 || !cpu.need_resched.load(MemoryOrder::Acquire) || !cpu.current_thread)
        return;
    SchedulerCore::schedule(true);
}

void start_secondary_cpu()
{
    SchedulerCore::adopt_current_context(current_cpu_index(), nullptr, 0);
    SchedulerCore::cpu_joined();
    SchedulerCore::idle_loop();
}

} // namespace sched
