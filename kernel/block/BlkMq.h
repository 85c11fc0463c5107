// Submitting and completing I/O through blk-mq.
//
//   submit_bio(bio)              asynchronous: bio.end_io runs once, later;
//                                inside a Plug's scope (kernel/block/Plug.h)
//                                the thread's bios are merged and batched
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
#include "kernel/block/Plug.h"
#include "kernel/block/Request.h"

namespace block {

// `plug`: an explicit plug (the thread's own active plug is used when it is
// null or not active).
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
