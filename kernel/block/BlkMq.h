// Submitting and completing I/O through blk-mq.
//
//   submit_bio(bio)              asynchronous: bio.end_io runs once, later
//   submit_bio(bio, &plug)       collect and merge contiguous bios first;
//                                plug.flush() (or its destructor) dispatches
//   submit_bio_wait(bio)         synchronous helper on top of the async path
//   poll(device, bio)            reap a polled queue (for BIO_POLLED bios)
//
// The path: validate against the device (EINVAL / EIO before any driver sees
// it) -> split to the limits -> merge in the plug -> take a tag on the
// hardware queue of this CPU (or park the bio until one frees) -> software
// queue -> scheduler -> driver.queue_request in batches, one commit per
// batch -> interrupt -> complete_request -> bios' end_io -> tag freed.
#pragma once

#include "kernel/block/Bio.h"
#include "kernel/block/BlockDevice.h"
#include "kernel/block/Request.h"

namespace block {

// Requests built while plugged, waiting for flush (per submitting thread:
// keep it on the stack; it must be flushed on the CPU that filled it).
class Plug {
public:
    Plug() = default;
    ~Plug() { flush(); }
    Plug(const Plug&) = delete;
    Plug& operator=(const Plug&) = delete;

    void flush();
    bool is_empty() const { return m_requests.is_empty(); }

    // Merge `bio` into a plugged request if one is adjacent; true if it did.
    bool try_merge(Bio& bio);
    // Add a new request (state Building); flushes when the plug is full.
    void add(Request& request);

private:
    static constexpr u32 MAX_PLUGGED = 32; // flush when this many requests wait

    RequestList m_requests;
    u32 m_count = 0;
};

void submit_bio(Bio& bio, Plug* plug = nullptr);

// Submit and wait for the end; returns 0 or a positive errno.
int submit_bio_wait(Bio& bio);

// Reap completions on the polled queue `bio` was sent to; returns how many.
u32 poll(BlockDevice& device, u32 cpu);

// --- driver side ---------------------------------------------------------------
// The driver is done with `request`: 0 or a positive errno. Any context.
void complete_request(Request& request, int error);
// Give an issued request back to blk-mq to be issued again (after a
// controller reset); call hw.run() / TagSet::kick_all() afterwards.
void requeue_request(Request& request);

// End `bio` with `status` (propagates to a split parent).
void bio_endio(Bio& bio, int status);

} // namespace block
