// ktest suite "sched": threads on every CPU make progress, pinning holds,
// join/exit, preemption, load balancing.
#include "kernel/sched/Scheduler.h"
#include "kernel/lib/Atomic.h"
#include "kernel/sched/Thread.h"
#include "kernel/sched/ThreadAllocator.h"
#include "kernel/time/Clock.h"
#include "tests/ktest/Ktest.h"
#include "tests/ktest/ThreadTestUtil.h"

using ktest_util::load_u32;
using ktest_util::load_u64;
using ktest_util::spawn;

namespace {

constexpr u32 MAX_TEST_THREADS = 64;

struct Progress {
    u64 counters[MAX_TEST_THREADS];
    u64 cpus_seen[MAX_TEST_THREADS]; // bit per CPU the thread ran on
    bool stop;

    void reset()
    {
        for (u32 i = 0; i < MAX_TEST_THREADS; i++)
            counters[i] = cpus_seen[i] = 0;
        stop = false;
    }
};

Progress g_progress;

u32 thread_count_for(u32 cpus) { return min(3 * cpus + 1, MAX_TEST_THREADS); }

} // namespace

KTEST(sched, busy_threads_on_all_cpus_make_progress)
{
    if (ktest_util::skip_without_clock("sched.busy_threads_on_all_cpus_make_progress"))
        return;
    u32 cpus = sched::cpu_count();
    u32 n = thread_count_for(cpus);
    g_progress.reset();
    Thread* threads[MAX_TEST_THREADS];
    // Busy loops that never yield: only preemption lets the others (and this
    // test thread) run; only load balancing spreads them over the CPUs.
    for (u32 i = 0; i < n; i++) {
        threads[i] = spawn(ktest_context, "busy", [i] {
            while (!AtomicRef(g_progress.stop).load(MemoryOrder::Relaxed)) {
                AtomicRef(g_progress.counters[i]).store(g_progress.counters[i] + 1, MemoryOrder::Relaxed);
                u64 bit = 1ul << current_cpu_index();
                if (!(g_progress.cpus_seen[i] & bit))
                    AtomicRef(g_progress.cpus_seen[i]).fetch_or(bit, MemoryOrder::Relaxed);
            }
        });
        KASSERT(threads[i]);
    }
    // Wait for events, not for a time: each thread runs, runs again after
    // a snapshot, and the threads together reach every CPU. The bound only
    // turns a hang into a failure; a loaded host may take long to get there.
    constexpr u64 BOUND_NS = 30'000'000'000;
    auto used_cpus = [&] {
        u64 mask = 0;
        for (u32 i = 0; i < n; i++)
            mask |= load_u64(g_progress.cpus_seen[i]);
        return mask;
    };
    auto wait_until = [&](auto done) {
        const u64 end = clock_ns() + BOUND_NS;
        while (!done() && clock_ns() < end)
            sched::sleep_for(5'000'000);
        return done();
    };
    u64 first[MAX_TEST_THREADS];
    const bool all_ran = wait_until([&] {
        for (u32 i = 0; i < n; i++)
            if (load_u64(g_progress.counters[i]) == 0)
                return false;
        return true;
    });
    for (u32 i = 0; i < n; i++)
        first[i] = load_u64(g_progress.counters[i]);
    const bool all_advanced = wait_until([&] {
        for (u32 i = 0; i < n; i++)
            if (load_u64(g_progress.counters[i]) <= first[i])
                return false;
        return true;
    });
    const bool spread = wait_until([&] { return static_cast<u32>(__builtin_popcountl(used_cpus())) == cpus; });
    AtomicRef(g_progress.stop).store(true, MemoryOrder::Release);
    for (u32 i = 0; i < n; i++)
        threads[i]->join();

    KEXPECT(all_ran);
    KEXPECT(all_advanced);
    KEXPECT(spread);
    u64 all_cpus = used_cpus();
    KEXPECT_EQ(static_cast<u32>(__builtin_popcountl(all_cpus)), cpus);
    log_raw("ktest:   %u busy threads on %u CPUs, all advanced; CPUs used mask 0x%lx\n", n, cpus, all_cpus);
}

KTEST(sched, yielding_threads_make_progress)
{
    u32 cpus = sched::cpu_count();
    u32 n = thread_count_for(cpus);
    g_progress.reset();
    Thread* threads[MAX_TEST_THREADS];
    for (u32 i = 0; i < n; i++) {
        threads[i] = spawn(ktest_context, "yielder", [i] {
            while (!AtomicRef(g_progress.stop).load(MemoryOrder::Relaxed)) {
                AtomicRef(g_progress.counters[i]).store(g_progress.counters[i] + 1, MemoryOrder::Relaxed);
                sched::yield();
            }
        });
        KASSERT(threads[i]);
    }
    constexpr u64 TARGET = 200;
    bool all = ktest_util::wait_until([n] {
        for (u32 i = 0; i < n; i++) {
            if (load_u64(g_progress.counters[i]) < TARGET)
                return false;
        }
        return true;
    }, 10'000'000'000);
    AtomicRef(g_progress.stop).store(true, MemoryOrder::Release);
    for (u32 i = 0; i < n; i++)
        threads[i]->join();
    KEXPECT(all);
}

namespace {

struct PinCheck {
    static constexpr u32 PER_CPU = 2;
    static constexpr u32 ROUNDS = 1500;
    u32 violations;
    u32 rounds_done;
};

PinCheck g_pin;

} // namespace

KTEST(sched, pinning_holds)
{
    u32 cpus = sched::cpu_count();
    g_pin = {};
    // Two pinned threads per CPU (they yield to and preempt each other) plus
    // unpinned busy threads that make the load uneven, so that balancing
    // runs and would move a thread if it ignored the pin.
    Thread* pinned[MAX_CPUS * PinCheck::PER_CPU];
    u32 n = 0;
    for (u32 cpu = 0; cpu < cpus; cpu++) {
        for (u32 k = 0; k < PinCheck::PER_CPU; k++) {
            pinned[n++] = spawn(ktest_context, "pinned", [cpu] {
                for (u32 round = 0; round < PinCheck::ROUNDS; round++) {
                    if (current_cpu_index() != cpu)
                        AtomicRef(g_pin.violations).add_fetch(1, MemoryOrder::Relaxed);
                    // Alternate short busy stretches (preemption points) and yields.
                    if (round % 3 == 0) {
                        for (u32 spin = 0; spin < 2000; spin++)
                            x86::pause();
                    } else {
                        sched::yield();
                    }
                    if (current_cpu_index() != cpu)
                        AtomicRef(g_pin.violations).add_fetch(1, MemoryOrder::Relaxed);
                }
                AtomicRef(g_pin.rounds_done).add_fetch(PinCheck::ROUNDS, MemoryOrder::Relaxed);
            }, cpu);
            KASSERT(pinned[n - 1]);
            KEXPECT_EQ(pinned[n - 1]->pinned_cpu(), cpu);
        }
    }
    g_progress.reset();
    Thread* noise[4];
    for (u32 i = 0; i < 4; i++) {
        noise[i] = spawn(ktest_context, "noise", [] {
            while (!AtomicRef(g_progress.stop).load(MemoryOrder::Relaxed))
                sched::yield();
        }, 0);
        KASSERT(noise[i]);
    }
    for (u32 i = 0; i < n; i++)
        pinned[i]->join();
    AtomicRef(g_progress.stop).store(true, MemoryOrder::Release);
    for (Thread* thread : noise)
        thread->join();
    KEXPECT_EQ(load_u32(g_pin.violations), 0u);
    KEXPECT_EQ(load_u32(g_pin.rounds_done), n * PinCheck::ROUNDS);
}

namespace {

u32 g_exit_flag;

[[noreturn]] void exit_from_deep_inside(u32 depth)
{
    if (depth == 0) {
        AtomicRef(g_exit_flag).store(2u, MemoryOrder::Release);
        Thread::exit();
    }
    exit_from_deep_inside(depth - 1);
}

} // namespace

KTEST(sched, join_returns_after_exit)
{
    u32 live_before = ThreadAllocator::live_count();
    g_exit_flag = 0;
    Thread* returns = spawn(ktest_context, "returns", [] {
        for (u32 i = 0; i < 100; i++)
            sched::yield();
        AtomicRef(g_exit_flag).store(1u, MemoryOrder::Release);
    });
    KASSERT(returns);
    returns->join();
    KEXPECT_EQ(load_u32(g_exit_flag), 1u);

    Thread* exits = spawn(ktest_context, "exits", [] { exit_from_deep_inside(10); });
    KASSERT(exits);
    exits->join();
    KEXPECT_EQ(load_u32(g_exit_flag), 2u);
    KEXPECT_EQ(ThreadAllocator::live_count(), live_before);

    // Detached threads free themselves.
    static u32 detached_done;
    detached_done = 0;
    u32 cpus = sched::cpu_count();
    for (u32 i = 0; i < 8; i++) {
        auto thread = Thread::create("detached", [] { AtomicRef(detached_done).add_fetch(1, MemoryOrder::AcqRel); },
                                     ThreadOptions{.pin_cpu = i % cpus, .detached = true});
        KASSERT(!thread.is_error());
        thread.value()->start();
    }
    KEXPECT(ktest_util::wait_until(
        [live_before] { return load_u32(detached_done) == 8 && ThreadAllocator::live_count() == live_before; },
        5'000'000'000));

    // Many short-lived threads: the pool is recycled.
    for (u32 round = 0; round < 24; round++) {
        Thread* batch[16];
        for (u32 i = 0; i < 16; i++) {
            batch[i] = spawn(ktest_context, "short", [] {});
            KASSERT(batch[i]);
        }
        for (Thread* thread : batch)
            thread->join();
    }
    KEXPECT_EQ(ThreadAllocator::live_count(), live_before);
}

namespace {

struct Preemption {
    bool b_ran;
    bool a_saw_b;
};

Preemption g_preempt;

} // namespace

KTEST(sched, busy_thread_does_not_starve_another_on_its_cpu)
{
    if (ktest_util::skip_without_clock("sched.busy_thread_does_not_starve_another_on_its_cpu"))
        return;
    u32 cpu = sched::cpu_count() - 1;
    g_preempt = {};
    u64 preemptions_before = sched::cpu_stats(cpu).preemptions;
    Thread* a = spawn(ktest_context, "spinner", [] {
        u64 give_up = clock_ns() + 3'000'000'000;
        while (clock_ns() < give_up) {
            if (AtomicRef(g_preempt.b_ran).load(MemoryOrder::Acquire)) {
                g_preempt.a_saw_b = true;
                break;
            }
        }
    }, cpu);
    KASSERT(a);
    // Let the spinner take the CPU first.
    sched::sleep_for(5'000'000);
    Thread* b = spawn(ktest_context, "starved?", [] { AtomicRef(g_preempt.b_ran).store(true, MemoryOrder::Release); },
                      cpu);
    KASSERT(b);
    a->join();
    b->join();
    KEXPECT(g_preempt.b_ran);
    KEXPECT(g_preempt.a_saw_b);
    KEXPECT(sched::cpu_stats(cpu).preemptions > preemptions_before);
}

KTEST(sched, new_threads_spread_over_cpus)
{
    u32 cpus = sched::cpu_count();
    if (cpus == 1)
        return;
    static u32 started;
    static bool release;
    started = 0;
    release = false;
    Thread* threads[MAX_CPUS];
    // One sleeping-ish thread per CPU, started back to back: each start must
    // see the previous ones' load and pick another CPU.
    for (u32 i = 0; i < cpus; i++) {
        threads[i] = spawn(ktest_context, "spread", [] {
            AtomicRef(started).add_fetch(1, MemoryOrder::AcqRel);
            while (!AtomicRef(release).load(MemoryOrder::Acquire))
                sched::yield();
        });
        KASSERT(threads[i]);
    }
    u64 mask = 0;
    for (u32 i = 0; i < cpus; i++)
        mask |= 1ul << threads[i]->cpu();
    AtomicRef(release).store(true, MemoryOrder::Release);
    for (u32 i = 0; i < cpus; i++)
        threads[i]->join();
    // The test thread itself occupies one CPU, so allow one doubled-up CPU.
    KEXPECT(static_cast<u32>(__builtin_popcountl(mask)) >= cpus - 1);
}
