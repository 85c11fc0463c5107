// The benchmark's optional view of a block driver (kernel/block/Bench.h):
// what a driver offers beyond the production contract of Driver.h so the
// benchmark can measure it - a raw loop that drives one queue pair directly,
// bypassing blk-mq, and device-side event counts. A driver that has these
// implements BenchDriver and names itself in TagSetConfig::bench; nothing on
// the I/O path looks at it.
#pragma once

#include "kernel/lib/Types.h"

namespace block {

class HwQueue;
class BlockDevice;
struct BenchParams;
struct BenchResult;

// Device-side events of one hardware queue, for the benchmark's per-I/O
// figures (what the block layer cannot see: interrupts taken, doorbell MMIO
// writes). Monotonic counts; zero where a driver does not count.
struct DriverQueueCounters {
    bool counted = false; // false: the driver does not count (figures are n/a)
    u64 interrupts = 0;
    u64 submission_doorbells = 0; // MMIO writes (not shadow-doorbell updates)
    u64 completion_doorbells = 0;
};

class BenchDriver {
public:
    // The benchmark's second level: drive one queue pair directly, bypassing
    // blk-mq. False if the driver cannot run it now (no queue to spare).
    virtual bool raw_benchmark(BlockDevice&, const BenchParams&, BenchResult&) = 0;
    // Event counts of `hw` (DriverQueueCounters); the raw loop's queue when
    // `hw` is null.
    virtual DriverQueueCounters queue_counters(HwQueue*) = 0;

protected:
    ~BenchDriver() = default;
};

} // namespace block
