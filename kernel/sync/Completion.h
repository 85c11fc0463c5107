// Completion: "this has happened" for one or all waiters (as Linux's).
//
//   Completion done;
//   start_io(..., [&] { done.complete(); });   // from an interrupt, say
//   done.wait();
//
// complete() lets exactly one wait() through (counting: n completes let n
// waits through); complete_all() lets every present and future wait()
// through until reinit().
#pragma once

#include "kernel/lib/Atomic.h"
#include "kernel/lib/Types.h"
#include "kernel/sync/WaitQueue.h"

class Completion {
public:
    Completion() = default;
    Completion(const Completion&) = delete;
    Completion& operator=(const Completion&) = delete;

    // Callable from any context, including interrupts.
    void complete();
    void complete_all();

    void wait();
    // Returns false if `timeout_ns` passed first.
    bool wait_for(u64 timeout_ns);
    // Consume a completion without sleeping; false if there is none.
    bool try_wait() { return try_consume(); }

    bool is_done() const { return m_done.load(MemoryOrder::Acquire) != 0; }
    // Back to "not happened". Only when no thread can be waiting.
    void reinit() { m_done.store(0u, MemoryOrder::Release); }

private:
    static constexpr u32 DONE_ALL = ~0u;

    bool try_consume();

    Atomic<u32> m_done{0}; // completions not yet consumed, or DONE_ALL
    WaitQueue m_wait_queue;
};
