#include "kernel/init/Demo.h"

#include "kernel/block/Bench.h"
#include "kernel/block/BlockDevice.h"
#include "kernel/lib/CommandLine.h"
#include "kernel/lib/Format.h"
#include "kernel/log/Log.h"

namespace demo {

void run_default()
{
    if (block::device_count() == 0) {
        log_info("demo", "no block devices attached: nothing to benchmark (tools/run attaches NVMe and virtio-blk)");
        return;
    }
    log_info("demo", "1-second 4 KiB random-read benchmark, queue depth 32, on each block device");
    for (usize i = 0; i < block::device_count(); i++) {
        block::BlockDevice* device = block::device_at(i);
        char options[128];
        format_string(options, sizeof(options), "bench=blk dev=%s qd=32 bs=4k pattern=randread secs=1",
                      device->name());
        static CommandLine line;
        line.parse(options);
        block::run_benchmark(line);
    }
}

} // namespace demo
