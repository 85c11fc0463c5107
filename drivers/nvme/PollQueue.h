// The polled delivery of an IoQueue: created without an interrupt (CDW11.IEN
// = 0); completions are noticed only when blk-mq calls poll() for it
// (BIO_POLLED bios, io_uring IOPOLL, the benchmark's raw loop).
#pragma once

#include "drivers/nvme/IoQueue.h"

namespace nvme {

inline u32 poll_queue(IoQueue& queue) { return queue.has_completion_hint() ? queue.reap() : 0; }

} // namespace nvme
