#include "kernel/block/QueueMap.h"

namespace block {

void map_cpus_to_queues(u16* map, u32 cpu_count, u32 queue_count)
{
    if (queue_count == 0) {
        for (u32 cpu = 0; cpu < cpu_count; cpu++)
            map[cpu] = 0;
        return;
    }
    for (u32 cpu = 0; cpu < cpu_count; cpu++) {
        if (queue_count >= cpu_count)
            map[cpu] = static_cast<u16>(cpu);
        else
            map[cpu] = static_cast<u16>(u64(cpu) * queue_count / cpu_count);
    }
}

} // namespace block
