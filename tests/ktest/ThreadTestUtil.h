// Helpers for the scheduler and synchronisation ktests: start threads, wait
// with a bound, and skip what needs a facility this kernel does not have yet.
#pragma once

#include "arch/x86_64/Cpu.h"
#include "kernel/lib/Atomic.h"
#include "kernel/log/Log.h"
#include "kernel/sched/Scheduler.h"
#include "kernel/sched/Thread.h"
#include "kernel/time/Clock.h"
#include "tests/ktest/Ktest.h"

namespace ktest_util {

// Create and start a thread running `function`; null (and a test failure)
// if it cannot be created.
template <typename Function>
Thread* spawn(KtestContext& ktest_context, const char* name, Function&& function,
              u32 pin_cpu = ThreadOptions::NO_PIN)
{
    auto thread = Thread::create(name, kstd::forward<Function>(function), ThreadOptions{.pin_cpu = pin_cpu});
    if (thread.is_error()) {
        ktest_fail(ktest_context, __FILE__, __LINE__, "cannot create thread %s: errno %d", name,
                   thread.error().code());
        return nullptr;
    }
    thread.value()->start();
    return thread.value();
}

// Sleeping and timeouts need the calibrated clock and kernel timers.
inline bool have_clock() { return tsc_frequency_hz() != 0; }

inline bool skip_without_clock(const char* test)
{
    if (have_clock())
        return false;
    log_raw("ktest:   %s: skipped, no calibrated clock / kernel timers yet\n", test);
    return true;
}

// Yield (sleeping a little when the clock runs) until `condition()` holds or
// about `timeout_ns` passed; returns the condition.
template <typename Condition>
bool wait_until(Condition condition, u64 timeout_ns)
{
    u64 start = clock_ns();
    for (u64 spins = 0; !condition(); spins++) {
        if (have_clock()) {
            if (clock_ns() - start > timeout_ns)
                return condition();
            sched::sleep_for(100'000);
        } else {
            sched::yield();
            if (spins > 50'000'000)
                return false;
        }
    }
    return true;
}

inline u32 load_u32(const u32& value) { return AtomicRef(value).load(MemoryOrder::Acquire); }
inline u64 load_u64(const u64& value) { return AtomicRef(value).load(MemoryOrder::Acquire); }

} // namespace ktest_util
