// The contract between blk-mq and a block driver (NVMe, virtio-blk).
//
// A driver creates one TagSet per controller (kernel/block/TagSet.h) with a
// TagSetConfig, then one BlockDevice per namespace/disk on top of it
// (kernel/block/BlockDevice.h). From then on:
//
//   blk-mq -> driver  queue_request(hw, rq, last)   issue one request; may defer the
//                                                   doorbell while !last
//                     commit(hw)                    ring the doorbell now (a batch
//                                                   ended early, e.g. on Busy)
//                     poll(hw)                      reap completions of a polled queue
//                     timeout(rq, generation)       a request overran its deadline
//   driver -> blk-mq  complete_request(rq, errno)   from the queue's interrupt (or poll)
//                     requeue_request(rq) + kick    after a controller reset
//
// queue_request runs with no blk-mq lock held, interrupts enabled or not; it
// must not sleep. Command id = rq.tag, which is unique per hardware queue and
// indexes hw.request(tag); per-request driver data is rq.driver_data().
#pragma once

#include "kernel/block/Request.h"
#include "kernel/block/Scheduler.h"
#include "kernel/lib/Types.h"

namespace block {

class HwQueue;
class BlockDevice;
class BenchDriver;

enum class QueueStatus : u8 {
    Ok,   // the request is the driver's now (complete_request will follow,
          // possibly already from inside queue_request with an error)
    Busy, // the device ring is full: blk-mq keeps the request and retries
          // after the next completion on this hardware queue
};

enum class TimeoutAction : u8 {
    Handled,    // the driver completed or will complete the request (abort, reset)
    ResetTimer, // give it another timeout period
};

class BlockDriver {
public:
    virtual QueueStatus queue_request(HwQueue& hw, Request& request, bool last) = 0;
    virtual void commit(HwQueue&) { }
    virtual u32 poll(HwQueue&) { return 0; }
    // `generation` is the Request::generation of the issue that overran: by
    // the time the driver looks, the request may have completed and its tag
    // been issued again, and that later issue must be left alone.
    virtual TimeoutAction timeout(Request&, u32 /*generation*/) { return TimeoutAction::ResetTimer; }
    // Once per request slot when the tag set is created (driver data is zeroed).
    virtual void init_request(HwQueue&, Request&) { }

protected:
    ~BlockDriver() = default;
};

struct TagSetConfig {
    const char* name = "";          // for the log: "nvme0", "virtio0"
    BlockDriver* driver = nullptr;
    BenchDriver* bench = nullptr;   // optional: the benchmark's raw loop and counters (bench/BenchDriver.h)
    void* driver_data = nullptr;    // TagSet::driver_data()
    u32 interrupt_queues = 1;       // hardware queues completed by an interrupt
    u32 poll_queues = 0;            // extra hardware queues completed only by poll()
    u32 queue_depth = 64;           // tags per hardware queue, <= MAX_TAGS
    u32 driver_data_size = 0;       // bytes per request, behind the Request
    u64 timeout_ns = 30'000'000'000ul;
    SchedulerKind scheduler = SchedulerKind::None;
};

} // namespace block
