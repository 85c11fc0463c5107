// One virtio-blk request queue as blk-mq drives it: a block::Request becomes
// one descriptor chain (header, its data segments, status byte: §5.2.6) on
// the queue's SplitVirtqueue; a batch ends with one publish and at most one
// notification, only when the device asked for it (event index); completions
// are reaped from the used ring and handed back with an errno.
//
// The command (header + status) lives in the request's driver data, the tag's
// preallocated slot, so nothing is allocated per I/O; the chain's token is the
// Request itself. The indirect table comes from the virtqueue's pool.
//
// Locking: the owner serializes submit()/commit()/reap_batch() for one queue
// (the driver's per-queue spinlock). Completing requests may dispatch new
// ones on the same queue, so the owner must complete them after dropping the
// lock: reap_batch() hands out a bounded batch for exactly that.
#pragma once

#include "drivers/virtio/PciTransport.h"
#include "drivers/virtio/SplitVirtqueue.h"
#include "drivers/virtio/blk/Command.h"
#include "kernel/block/Request.h"
#include "kernel/lib/Types.h"

struct Page;

namespace virtio::blk {

// Physical addresses of the memory a request refers to: pages of its bios
// and its driver data (mm::page_to_phys / virt_to_phys in the kernel).
struct AddressTranslation {
    PhysAddr (*page_phys)(const Page* page);
    PhysAddr (*virt_phys)(const void* virt);
};

// What sits behind every block::Request of a virtio-blk tag set.
struct RequestData {
    CommandBuffer command;
};

class RequestQueue {
public:
    enum class Outcome : u8 {
        Issued, // on the ring; reap_batch() will return it
        Busy, // the ring is full: retry after a completion
        Completed, // finished without the device (error, or a flush with no cache): see `error`
    };
    struct SubmitResult {
        Outcome outcome;
        int error; // for Completed: 0 or an errno
    };

    struct Counters {
        u64 issued;
        u64 batches; // commit() calls that published something
        u64 notifications; // of those, how many notified the device
        u64 completed;
        u64 busy;
    };

    RequestQueue(SplitVirtqueue& ring, const QueueNotifier& notifier, const DeviceInfo& info,
        const AddressTranslation& translation);

    // blk-mq's queue_request(): never blocks, never notifies (commit() does).
    SubmitResult submit(block::Request& request);
    // blk-mq's commit hook, at the end of a dispatch batch.
    void commit();

    struct Done {
        block::Request* request;
        int error;
    };
    // Up to `capacity` finished requests. When it returns fewer than
    // `capacity`, the used ring is empty and interrupts are re-armed without
    // a race (a buffer used meanwhile is included). Completion path:
    //   do { lock; n = reap_batch(done, N); unlock; complete each; } while (n == N);
    usize reap_batch(Done* done, usize capacity);

    // Polled queues (no interrupt): keep the device from interrupting.
    void disable_interrupts() { m_ring.disable_interrupts(); }

    SplitVirtqueue& ring() { return m_ring; }
    const Counters& counters() const { return m_counters; }
    // Data segments of one request this queue can carry (the indirect table
    // minus header and status, or the ring minus two).
    static u32 max_data_segments(const SplitVirtqueue& ring);

private:
    SplitVirtqueue& m_ring;
    QueueNotifier m_notifier;
    DeviceInfo m_info;
    AddressTranslation m_translation;
    Counters m_counters{};
};

} // namespace virtio::blk
