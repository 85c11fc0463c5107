// Which hardware queue serves each CPU's software queue (Linux
// blk_mq_map_queues). With at least as many queues as CPUs, CPU i gets queue
// i, so a queue's interrupt can be bound to the CPU that submits to it. With
// fewer queues, consecutive CPUs share a queue in groups whose sizes differ by
// at most one, so no queue carries more than its share.
#pragma once

#include "kernel/lib/Types.h"

namespace block {

// Fills map[0..cpu_count) with queue indices in [0, queue_count).
void map_cpus_to_queues(u16* map, u32 cpu_count, u32 queue_count);

} // namespace block
