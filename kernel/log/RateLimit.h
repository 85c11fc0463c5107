// RateLimit: at most `burst` messages per `interval_ns` from one call site or
// object (Linux's ratelimit_state / printk_ratelimited), so a device that
// fails every request cannot flood the log from its interrupt handler.
// Callable from any context; takes no lock (a message or two more than the
// burst may pass when CPUs race at the turn of an interval, never fewer).
#pragma once

#include "kernel/lib/Atomic.h"
#include "kernel/lib/Types.h"
#include "kernel/time/Clock.h"

class RateLimit {
public:
    static constexpr u64 DEFAULT_INTERVAL_NS = 5'000'000'000ul; // Linux DEFAULT_RATELIMIT_INTERVAL
    static constexpr u32 DEFAULT_BURST = 10;                     // Linux DEFAULT_RATELIMIT_BURST

    constexpr RateLimit(u64 interval_ns = DEFAULT_INTERVAL_NS, u32 burst = DEFAULT_BURST)
        : m_interval_ns(interval_ns), m_burst(burst)
    {
    }

    // True if a message may be printed now.
    bool allow() { return allow_at(clock_ns()); }
    bool allow_at(u64 now_ns)
    {
        u64 start = m_interval_start_ns.load(MemoryOrder::Relaxed);
        if (start == 0 || now_ns - start >= m_interval_ns) {
            if (m_interval_start_ns.compare_exchange_strong(start, now_ns ? now_ns : 1, MemoryOrder::Relaxed))
                m_printed.store(0, MemoryOrder::Relaxed);
        }
        if (m_printed.fetch_add(1, MemoryOrder::Relaxed) < m_burst)
            return true;
        m_suppressed.fetch_add(1, MemoryOrder::Relaxed);
        return false;
    }
    // Messages refused so far (for tests and a summary line).
    u64 suppressed() const { return m_suppressed.load(MemoryOrder::Relaxed); }

private:
    u64 m_interval_ns;
    u32 m_burst;
    Atomic<u64> m_interval_start_ns;
    Atomic<u32> m_printed;
    Atomic<u64> m_suppressed;
};
