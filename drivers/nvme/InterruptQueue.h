// The interrupt-driven delivery of an IoQueue: its MSI-X vector, bound to
// the CPU that submits to the queue, reaps the completion ring and completes
// requests - nothing else happens in the handler (STYLE item 3).
#pragma once

#include "drivers/nvme/IoQueue.h"

namespace nvme {

// irq::Handler for an I/O queue's vector; context is the IoQueue.
inline void interrupt_queue_handler(void* context)
{
    auto& queue = *static_cast<IoQueue*>(context);
    queue.interrupts.fetch_add(1, MemoryOrder::Relaxed);
    queue.reap();
}

} // namespace nvme
