// ktest suite "waitqueue": wait queues, wait_event and completions, across
// CPUs and from interrupt context.
#include "kernel/sched/Scheduler.h"
#include "kernel/lib/Atomic.h"
#include "kernel/sched/Thread.h"
#include "kernel/sync/Completion.h"
#include "kernel/sync/Guarded.h"
#include "kernel/sync/WaitQueue.h"
#include "kernel/time/Clock.h"
#include "kernel/time/Timer.h"
#include "tests/ktest/Ktest.h"
#include "tests/ktest/ThreadTestUtil.h"

using ktest_util::load_u32;
using ktest_util::load_u64;
using ktest_util::spawn;

namespace {

constexpr u64 PRODUCER_CONSUMER_ITEMS = 1'000'000;
constexpr u32 RING_CAPACITY = 256;
constexpr u32 MAX_PAIRS = MAX_CPUS / 2;

// A single-producer single-consumer ring between two CPUs. The ring itself
// is lock-free (acquire/release on head and tail) so that the only shared
// locks are the two wait queues': what is tested is that no wake-up between
// "ring full/empty" sleepers and the other side is ever lost. Every push
// wakes the consumer side and every pop the producer side.
struct alignas(64) Channel {
    u64 items[RING_CAPACITY];
    alignas(64) u64 tail = 0; // written by the producer
    alignas(64) u64 head = 0; // written by the consumer
    alignas(64) WaitQueue not_empty;
    alignas(64) WaitQueue not_full;
    alignas(64) bool done = false;
    u64 consumed = 0;
    u64 consumed_sum = 0;
    u64 wake_calls = 0;
    u64 threads_woken = 0;

    u64 filled() const { return AtomicRef(tail).load(MemoryOrder::Acquire) - AtomicRef(head).load(MemoryOrder::Acquire); }

    void produce(u64 first, u64 n)
    {
        u64 calls = 0, woken = 0;
        for (u64 i = 0; i < n; i++) {
            wait_event_exclusive(not_full, [&] { return filled() < RING_CAPACITY; });
            items[tail % RING_CAPACITY] = first + i;
            AtomicRef(tail).store(tail + 1, MemoryOrder::Release);
            woken += not_empty.wake_one();
            calls++;
        }
        AtomicRef(done).store(true, MemoryOrder::Release);
        woken += not_empty.wake_one();
        AtomicRef(wake_calls).add_fetch(calls + 1, MemoryOrder::Relaxed);
        AtomicRef(threads_woken).add_fetch(woken, MemoryOrder::Relaxed);
    }

    void consume()
    {
        u64 n = 0, sum = 0, calls = 0, woken = 0;
        for (;;) {
            wait_event_exclusive(not_empty, [&] { return filled() > 0 || AtomicRef(done).load(MemoryOrder::Acquire); });
            if (filled() == 0)
                break; // done, and nothing was pushed after the last test
            sum += items[head % RING_CAPACITY];
            AtomicRef(head).store(head + 1, MemoryOrder::Release);
            n++;
            woken += not_full.wake_one();
            calls++;
        }
        consumed = n;
        consumed_sum = sum;
        AtomicRef(wake_calls).add_fetch(calls, MemoryOrder::Relaxed);
        AtomicRef(threads_woken).add_fetch(woken, MemoryOrder::Relaxed);
    }
};

Channel g_channels[MAX_PAIRS];

} // namespace

KTEST(waitqueue, producer_consumer_no_lost_wakeups)
{
    u32 cpus = sched::cpu_count();
    // A producer and its consumer on different CPUs (when there are two),
    // one pair per two CPUs: every wake-up crosses CPUs.
    u32 pairs = cpus >= 2 ? cpus / 2 : 1;
    u64 per_pair = PRODUCER_CONSUMER_ITEMS / pairs;
    Thread* threads[2 * MAX_PAIRS];
    for (u32 p = 0; p < pairs; p++) {
        Channel* channel = new (&g_channels[p]) Channel();
        u64 first = p * per_pair;
        threads[2 * p] = spawn(ktest_context, "consumer", [channel] { channel->consume(); }, (2 * p + 1) % cpus);
        threads[2 * p + 1] = spawn(ktest_context, "producer", [channel, first, per_pair] {
            channel->produce(first, per_pair);
        }, (2 * p) % cpus);
        KASSERT(threads[2 * p] && threads[2 * p + 1]);
    }
    u64 consumed = 0, sum = 0, calls = 0, woken = 0;
    for (u32 p = 0; p < pairs; p++) {
        Channel& channel = g_channels[p];
        // A lost wake-up leaves both sides asleep for good; a slow emulator
        // only makes them slow. Call it stuck after 30 s without progress.
        for (u32 side = 0; side < 2; side++) {
            u64 last_progress = ~0ul;
            u32 idle_rounds = 0;
            while (!threads[2 * p + side]->join_for(5'000'000'000)) {
                u64 progress = load_u64(channel.tail) + load_u64(channel.head);
                idle_rounds = progress == last_progress ? idle_rounds + 1 : 0;
                last_progress = progress;
                if (idle_rounds < 6)
                    continue;
                log_raw("ktest:   pair %u stuck: tail %lu head %lu done %u, waiters %zu/%zu\n", p, channel.tail,
                        channel.head, channel.done, channel.not_empty.waiter_count(), channel.not_full.waiter_count());
                sched::dump_thread(*threads[2 * p]);
                sched::dump_thread(*threads[2 * p + 1]);
                sched::dump_state();
                KASSERT(false);
            }
        }
        KEXPECT_EQ(channel.consumed, per_pair);
        consumed += channel.consumed;
        sum += channel.consumed_sum;
        calls += channel.wake_calls;
        woken += channel.threads_woken;
    }
    u64 total = per_pair * pairs;
    KEXPECT_EQ(consumed, total);
    KEXPECT_EQ(sum, total * (total - 1) / 2);
    KEXPECT(calls >= 2 * total);
    log_raw("ktest:   %u producer/consumer pairs on %u CPUs: %lu items, %lu wake calls, %lu threads woken\n", pairs,
            cpus, consumed, calls, woken);
}

namespace {

struct ExclusiveWaiters {
    static constexpr u32 WAITERS = 8;
    WaitQueue queue;
    u32 tokens = 0;
    u32 passed = 0;
    u32 checks = 0; // condition evaluations: a woken waiter evaluates once more

    bool take_token()
    {
        AtomicRef(checks).add_fetch(1, MemoryOrder::Relaxed);
        u32 t = load_u32(tokens);
        while (t > 0) {
            if (AtomicRef(tokens).compare_exchange_strong(t, t - 1, MemoryOrder::AcqRel, MemoryOrder::Acquire))
                return true;
        }
        return false;
    }
};

} // namespace

KTEST(waitqueue, exclusive_wake_wakes_exactly_one)
{
    static ExclusiveWaiters w;
    u32 cpus = sched::cpu_count();
    Thread* threads[ExclusiveWaiters::WAITERS];
    for (u32 i = 0; i < ExclusiveWaiters::WAITERS; i++) {
        threads[i] = spawn(ktest_context, "excl-waiter", [] {
            wait_event_exclusive(w.queue, [] { return w.take_token(); });
            AtomicRef(w.passed).add_fetch(1, MemoryOrder::AcqRel);
        }, i % cpus);
        KASSERT(threads[i]);
    }
    KASSERT(ktest_util::wait_until([] { return w.queue.waiter_count() == ExclusiveWaiters::WAITERS; },
                                   5'000'000'000));
    // Every waiter has evaluated its condition twice (before queueing, after).
    u32 checks_before = load_u32(w.checks);
    KEXPECT_EQ(checks_before, 2 * ExclusiveWaiters::WAITERS);

    AtomicRef(w.tokens).store(1u, MemoryOrder::Release);
    KEXPECT_EQ(w.queue.wake_one(), 1u);
    KEXPECT(ktest_util::wait_until([] { return load_u32(w.passed) == 1; }, 5'000'000'000));
    // Give any wrongly woken waiter time to run and show itself.
    for (u32 i = 0; i < 200; i++)
        sched::yield();
    if (ktest_util::have_clock())
        sched::sleep_for(20'000'000);
    KEXPECT_EQ(load_u32(w.passed), 1u);
    KEXPECT_EQ(load_u32(w.checks), checks_before + 1);
    KEXPECT_EQ(w.queue.waiter_count(), static_cast<usize>(ExclusiveWaiters::WAITERS - 1));

    // Release the rest.
    AtomicRef(w.tokens).store(ExclusiveWaiters::WAITERS - 1, MemoryOrder::Release);
    KEXPECT_EQ(w.queue.wake_all(), ExclusiveWaiters::WAITERS - 1);
    for (Thread* thread : threads)
        thread->join();
    KEXPECT_EQ(load_u32(w.passed), ExclusiveWaiters::WAITERS);
}

namespace {

struct MixedWaiters {
    static constexpr u32 SHARED = 3;
    static constexpr u32 EXCLUSIVE = 3;
    WaitQueue queue;
    bool open = false;
    u32 tokens = 0;
    u32 shared_passed = 0;
    u32 exclusive_passed = 0;
};

} // namespace

KTEST(waitqueue, wake_one_wakes_all_nonexclusive_then_one_exclusive)
{
    static MixedWaiters m;
    u32 cpus = sched::cpu_count();
    Thread* threads[MixedWaiters::SHARED + MixedWaiters::EXCLUSIVE];
    u32 n = 0;
    for (u32 i = 0; i < MixedWaiters::EXCLUSIVE; i++) {
        u32 cpu = n % cpus;
        threads[n++] = spawn(ktest_context, "excl", [] {
            wait_event_exclusive(m.queue, [] {
                u32 t = load_u32(m.tokens);
                return t > 0 && AtomicRef(m.tokens).compare_exchange_strong(t, t - 1, MemoryOrder::AcqRel, MemoryOrder::Acquire);
            });
            AtomicRef(m.exclusive_passed).add_fetch(1, MemoryOrder::AcqRel);
        }, cpu);
    }
    for (u32 i = 0; i < MixedWaiters::SHARED; i++) {
        u32 cpu = n % cpus;
        threads[n++] = spawn(ktest_context, "shared", [] {
            wait_event(m.queue, [] { return AtomicRef(m.open).load(MemoryOrder::Acquire); });
            AtomicRef(m.shared_passed).add_fetch(1, MemoryOrder::AcqRel);
        }, cpu);
    }
    KASSERT(ktest_util::wait_until([] { return m.queue.waiter_count() == ARRAY_SIZE(threads); }, 5'000'000'000));
    AtomicRef(m.open).store(true, MemoryOrder::Release);
    AtomicRef(m.tokens).store(1u, MemoryOrder::Release);
    KEXPECT_EQ(m.queue.wake_one(), MixedWaiters::SHARED + 1);
    KEXPECT(ktest_util::wait_until([] {
        return load_u32(m.shared_passed) == MixedWaiters::SHARED && load_u32(m.exclusive_passed) == 1;
    }, 5'000'000'000));
    KEXPECT_EQ(m.queue.waiter_count(), static_cast<usize>(MixedWaiters::EXCLUSIVE - 1));
    AtomicRef(m.tokens).store(MixedWaiters::EXCLUSIVE - 1, MemoryOrder::Release);
    m.queue.wake_all();
    for (Thread* thread : threads)
        thread->join();
    KEXPECT_EQ(load_u32(m.exclusive_passed), MixedWaiters::EXCLUSIVE);
}

namespace {

// A waiter on one CPU, woken by a kernel timer callback (interrupt context)
// armed by a thread on another CPU, many times over.
struct InterruptWake {
    static constexpr u32 ROUNDS = 200;
    WaitQueue queue;
    Timer timer;
    u32 fired = 0;   // rounds whose callback ran
    u32 noticed = 0; // rounds the waiter saw
    Completion armed;
    Completion round_done;

    static void fire(Timer& timer)
    {
        auto* self = static_cast<InterruptWake*>(timer.context);
        AtomicRef(self->fired).add_fetch(1, MemoryOrder::AcqRel);
        self->queue.wake_all();
    }
};

} // namespace

KTEST(waitqueue, wake_from_timer_interrupt_on_another_cpu)
{
    if (ktest_util::skip_without_clock("waitqueue.wake_from_timer_interrupt_on_another_cpu"))
        return;
    static InterruptWake iw;
    u32 cpus = sched::cpu_count();
    u32 waiter_cpu = 0;
    u32 armer_cpu = cpus > 1 ? 1 : 0;
    iw.timer.context = &iw;
    Thread* waiter = spawn(ktest_context, "irq-waiter", [] {
        for (u32 round = 1; round <= InterruptWake::ROUNDS; round++) {
            iw.armed.complete();
            wait_event(iw.queue, [round] { return load_u32(iw.fired) >= round; });
            AtomicRef(iw.noticed).store(round, MemoryOrder::Release);
            iw.round_done.complete();
        }
    }, waiter_cpu);
    Thread* armer = spawn(ktest_context, "irq-armer", [] {
        for (u32 round = 1; round <= InterruptWake::ROUNDS; round++) {
            iw.armed.wait();
            // Vary the deadline so the interrupt lands before, during and
            // after the waiter's prepare/test/schedule sequence.
            timer_arm(iw.timer, clock_ns() + (round % 7) * 20'000, &InterruptWake::fire);
            iw.round_done.wait();
        }
    }, armer_cpu);
    KASSERT(waiter && armer);
    // Stuck means no round completed for 30 s (a slow emulator is not stuck).
    bool finished = false;
    for (u32 last = ~0u, idle_rounds = 0; idle_rounds < 6;) {
        finished = ktest_util::wait_until([] { return load_u32(iw.noticed) == InterruptWake::ROUNDS; },
                                          5'000'000'000);
        if (finished)
            break;
        u32 now = load_u32(iw.noticed);
        idle_rounds = now == last ? idle_rounds + 1 : 0;
        last = now;
    }
    KEXPECT(finished);
    if (!finished) {
        log_raw("ktest:   stuck after %u rounds (%u fired)\n", load_u32(iw.noticed), load_u32(iw.fired));
        return; // the threads are stuck: leave them rather than hang in join
    }
    waiter->join();
    armer->join();
    KEXPECT_EQ(load_u32(iw.fired), InterruptWake::ROUNDS);
}

KTEST(waitqueue, wait_event_timeout_expires)
{
    if (ktest_util::skip_without_clock("waitqueue.wait_event_timeout_expires"))
        return;
    WaitQueue queue;
    u64 start = clock_ns();
    bool satisfied = wait_event_timeout(queue, [] { return false; }, 5'000'000);
    u64 elapsed = clock_ns() - start;
    KEXPECT(!satisfied);
    KEXPECT(elapsed >= 5'000'000);
    KEXPECT_EQ(queue.waiter_count(), 0ul);
}

namespace {

struct CompletionTest {
    static constexpr u32 WAITERS = 6;
    Completion one_by_one;
    Completion all;
    u32 passed_one = 0;
    u32 passed_all = 0;
};

} // namespace

KTEST(waitqueue, completion_complete_and_complete_all)
{
    static CompletionTest c;
    u32 cpus = sched::cpu_count();
    Thread* threads[CompletionTest::WAITERS];
    for (u32 i = 0; i < CompletionTest::WAITERS; i++) {
        threads[i] = spawn(ktest_context, "completion", [] {
            c.one_by_one.wait();
            AtomicRef(c.passed_one).add_fetch(1, MemoryOrder::AcqRel);
            c.all.wait();
            AtomicRef(c.passed_all).add_fetch(1, MemoryOrder::AcqRel);
        }, i % cpus);
        KASSERT(threads[i]);
    }
    // complete() lets exactly one waiter through per call.
    for (u32 i = 1; i <= CompletionTest::WAITERS; i++) {
        c.one_by_one.complete();
        KEXPECT(ktest_util::wait_until([i] { return load_u32(c.passed_one) >= i; }, 5'000'000'000));
        KEXPECT_EQ(load_u32(c.passed_one), i);
    }
    KEXPECT_EQ(load_u32(c.passed_all), 0u);
    c.all.complete_all();
    for (Thread* thread : threads)
        thread->join();
    KEXPECT_EQ(load_u32(c.passed_all), CompletionTest::WAITERS);
    KEXPECT(c.all.try_wait()); // complete_all stays done
    KEXPECT(!c.one_by_one.try_wait());
}
