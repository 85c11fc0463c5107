// The block benchmark, run from the command line:
//
//   bench=blk dev=nvme0n1 qd=32 bs=4k pattern=randread secs=5
//   bench=blk dev=nvme0n1,vda qd=1,32 level=blk,poll,raw batch=1
//
// It keeps `qd` I/Os of `bs` bytes in flight from one thread (pinned to CPU
// 0) for `secs` seconds and prints IOPS, MB/s and completion-latency
// percentiles, then per I/O: interrupts, doorbell MMIO writes, and requests
// per dispatch. For every device and depth of the lists, at each level:
//   blk   through blk-mq (submit_bio, completion by interrupt);
//   poll  through blk-mq on the polled hardware queue (BIO_POLLED, this thread
//         reaps): blk-mq's own cost without interrupts;
//   raw   the driver's raw loop (commands straight into one queue pair,
//         polled; BlockDriver::raw_benchmark) when it has one - the limit the
//         emulated device allows.
// batch=1 (default) resubmits every I/O found complete in one scan under one
// Plug (one dispatch, one doorbell); batch=0 submits them one by one. The
// blk level sleeps until a completion wakes it (wait=spin: yield in a loop).
#pragma once

#include "kernel/lib/Types.h"

class CommandLine;

namespace block {

// Latency histogram with ~6% resolution: 16 linear sub-buckets per power of two.
class LatencyHistogram {
public:
    void record(u64 ns);
    u64 percentile(u32 per_mille_x10) const; // e.g. 500 = p50, 990 = p99, 999 = p99.9
    u64 count() const { return m_count; }

private:
    static constexpr u32 SUB = 16;
    static constexpr u32 BUCKETS = 64 * SUB;
    static u32 bucket_of(u64 ns);
    static u64 bucket_floor(u32 bucket);
    u64 m_buckets[BUCKETS] = {};
    u64 m_count = 0;
};

struct BenchParams {
    u32 queue_depth = 32;
    u32 block_bytes = 4096;
    bool random = true;
    bool write = false;
    bool batch = true; // resubmit completed I/Os under one plug (one dispatch per round)
    bool spin = false; // blk level: spin (yield) instead of sleeping until a completion
    u64 duration_ns = 5'000'000'000ul;
};

struct BenchResult {
    u64 ios = 0;
    u64 bytes = 0;
    u64 elapsed_ns = 0;
    u64 errors = 0;
    // Time the submitting thread spent submitting (submit_bio + the plug
    // flush, or building commands and ringing the doorbell) and, when it
    // polls, reaping and completing. Zero where not measured.
    u64 submit_ns = 0;
    u64 reap_ns = 0;
    LatencyHistogram latency;
};

// Parse bench=blk options and run; returns false if the options were bad.
bool run_benchmark(const CommandLine& command_line);

} // namespace block
