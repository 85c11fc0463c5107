// Per-thread plugging (Linux blk_start_plug / blk_finish_plug, current->plug).
//
//   {
//       block::Plug plug;              // this thread plugs from here...
//       submit_bio(a); submit_bio(b);   // contiguous bios merge; requests wait
//   }                                   // ...to here: one dispatch per queue
//
// While a Plug lives on a thread's stack, submit_bio() from that thread puts
// new requests on it instead of dispatching each one, and merges a bio into a
// plugged request it extends (same device and operation, adjacent sectors,
// within the limits). Nobody passes the plug around: it hangs off the Thread.
//
// The plug is flushed (requests to their software queues, then one run of
// each hardware queue touched: one batch, one doorbell):
//   - when it holds MAX_PLUGGED requests,
//   - when it goes out of scope (finish),
//   - by the scheduler when the thread is about to sleep
//     (flush_plug_before_sleep from sched::schedule; not on preemption), so a
//     thread never waits for I/O it is itself holding back.
// Nested plugs do nothing: the outermost one collects. Interrupt context never
// plugs: a submit_bio from an end_io callback dispatches at once.
#pragma once

#include "kernel/block/Request.h"
#include "kernel/block/Scheduler.h"
#include "kernel/lib/Types.h"

class Thread;

namespace block {

class Plug {
public:
    // Start plugging on the current thread (unless a plug is already active).
    Plug();
    // Finish: flush, and detach from the thread.
    ~Plug();
    Plug(const Plug&) = delete;
    Plug& operator=(const Plug&) = delete;

    void flush();
    bool is_empty() const { return m_requests.is_empty(); }
    // False for a nested plug (the outer one collects) and in interrupt context.
    bool is_active() const { return m_owner != nullptr; }

    // blk-mq internals (BlkMq.cpp):
    // merge `bio` into a plugged request if it is adjacent; true if it did;
    bool try_merge(Bio& bio);
    // add a new request (state Building); flushes when the plug is full.
    void add(Request& request);

    static constexpr u32 MAX_PLUGGED = 32; // flush when this many requests wait

private:
    RequestList m_requests;
    u32 m_count = 0;
    Thread* m_owner = nullptr;
};

// The current thread's active plug; nullptr in interrupt context or when the
// thread is not plugging.
Plug* current_plug();

// sched::schedule(), when the current thread is about to block.
void flush_plug_before_sleep(Plug& plug);

} // namespace block
