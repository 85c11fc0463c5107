// ktest suite "timers": kernel timers (kernel/time/Timer.h) and the tick, with
// interrupts on. The test thread may migrate between CPUs, so checks name the
// CPU a timer was armed on (Timer::cpu), not "the current one".
#include "arch/x86_64/Cpu.h"
#include "arch/x86_64/PerCpu.h"
#include "kernel/irq/Irq.h"
#include "kernel/log/Log.h"
#include "kernel/time/Clock.h"
#include "kernel/time/Timer.h"
#include "tests/ktest/Ktest.h"

namespace {

struct Record {
    u64 fired_at_ns;
    u32 order;
    u32 cpu;
};

u32 g_sequence;

void record_callback(Timer& timer)
{
    auto* record = static_cast<Record*>(timer.context);
    record->fired_at_ns = clock_ns();
    record->order = ++g_sequence;
    record->cpu = current_cpu_index();
}

// Spin with interrupts on until `done` or `timeout_ns` passes.
template <typename Done>
bool spin_until(Done done, u64 timeout_ns)
{
    u64 end = clock_ns() + timeout_ns;
    while (!done()) {
        if (clock_ns() > end)
            return false;
        x86::pause();
    }
    return true;
}

} // namespace

KTEST(timers, fires_at_its_deadline)
{
    KASSERT(x86::interrupts_enabled());
    Record record{};
    Timer timer;
    timer.context = &record;
    u64 deadline = clock_ns() + 3 * 1000000;
    timer_arm(timer, deadline, record_callback);
    KASSERT(spin_until([&] { return __atomic_load_n(&record.fired_at_ns, __ATOMIC_ACQUIRE) != 0; }, 1000000000));
    KEXPECT(record.fired_at_ns >= deadline);
    // Timers are not rounded to ticks: typically tens of microseconds late.
    // The bound is loose because under TCG on a loaded host a vCPU can be
    // descheduled for tens of milliseconds.
    KEXPECT(record.fired_at_ns - deadline < 25 * SCHED_TICK_NS);
    log_raw("ktest:   fired %lu us after its deadline\n", (record.fired_at_ns - deadline) / 1000);
    KEXPECT_EQ(record.cpu, timer.cpu); // on the CPU that armed it
}

KTEST(timers, cancel_prevents_the_callback)
{
    Record record{};
    Timer timer;
    timer.context = &record;
    timer_arm(timer, clock_ns() + 5 * 1000000, record_callback);
    KEXPECT(timer_cancel(timer));
    spin_until([] { return false; }, 15 * 1000000);
    KEXPECT_EQ(record.fired_at_ns, 0ul);
    KEXPECT(!timer_cancel(timer)); // no longer pending
}

KTEST(timers, fire_in_deadline_order)
{
    constexpr int N = 6;
    const u64 offsets_ms[N] = {6, 2, 9, 4, 1, 7};
    Record records[N] = {};
    Timer timers[N];
    g_sequence = 0;
    u64 base = clock_ns();
    for (int i = 0; i < N; i++) {
        timers[i].context = &records[i];
        timer_arm(timers[i], base + offsets_ms[i] * 1000000, record_callback);
    }
    KASSERT(spin_until([&] { return __atomic_load_n(&g_sequence, __ATOMIC_ACQUIRE) == N; }, 1000000000));
    for (int i = 0; i < N; i++) {
        u32 earlier = 0;
        for (int j = 0; j < N; j++)
            earlier += offsets_ms[j] < offsets_ms[i] ? 1 : 0;
        KEXPECT_EQ(records[i].order, earlier + 1);
    }
}

KTEST(timers, rearm_from_callback)
{
    struct Periodic {
        u32 runs;
    } periodic{};
    Timer timer;
    timer.context = &periodic;
    timer_arm(timer, clock_ns() + 1000000, [](Timer& t) {
        auto* p = static_cast<Periodic*>(t.context);
        if (++p->runs < 3)
            timer_arm(t, clock_ns() + 1000000, t.callback);
    });
    KEXPECT(spin_until([&] { return __atomic_load_n(&periodic.runs, __ATOMIC_ACQUIRE) == 3; }, 1000000000));
    spin_until([] { return false; }, 3 * 1000000);
    KEXPECT_EQ(periodic.runs, 3u);
}

KTEST(timers, scheduler_tick_runs)
{
    // Summed over every CPU (each has its own tick).
    auto all_timer_interrupts = [] {
        u64 total = 0;
        for (u32 cpu = 0; cpu < percpu::possible_count(); cpu++)
            total += irq::count(cpu, irq::VECTOR_TIMER);
        return total;
    };
    u64 before = all_timer_interrupts();
    u64 start = clock_ns();
    spin_until([] { return false; }, 100 * 1000000);
    u64 elapsed_ns = clock_ns() - start;
    u64 interrupts = all_timer_interrupts() - before;
    u64 expected_ticks = elapsed_ns / SCHED_TICK_NS * percpu::online_count();
    // At least most of the ticks (the host may deschedule us under TCG), and
    // not a storm.
    KEXPECT(interrupts * 2 >= expected_ticks);
    KEXPECT(interrupts <= expected_ticks * 2 + 4 * percpu::online_count());
}
