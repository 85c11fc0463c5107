// The virtio-blk driver (virtio 1.2 §5.2) for the kernel: binds to virtio
// block PCI functions through the PCI driver model, brings the device up
// through the modern transport, creates one request queue per CPU (up to what
// the device offers with VIRTIO_BLK_F_MQ and what MSI-X allows), each with its
// own MSI-X vector on that CPU, and registers the disk with blk-mq as vda,
// vdb, ...
//
// The I/O path: blk-mq calls queue_request() on the CPU's hardware queue ->
// RequestQueue::submit() puts one descriptor chain on the ring -> at the end
// of the batch commit() publishes it and notifies the device if it asked ->
// the device completes -> MSI-X interrupt on that queue's CPU ->
// queue_interrupt() reaps the used ring -> block::complete_request().
#pragma once

#include "drivers/pci/DmaPool.h"
#include "drivers/pci/Pci.h"
#include "drivers/virtio/PciAdapter.h"
#include "drivers/virtio/PciTransport.h"
#include "drivers/virtio/SplitVirtqueue.h"
#include "drivers/virtio/blk/Command.h"
#include "drivers/virtio/blk/RequestQueue.h"
#include "kernel/block/BlockDevice.h"
#include "kernel/block/Driver.h"
#include "kernel/block/bench/BenchDriver.h"
#include "kernel/lib/Atomic.h"
#include "kernel/lib/Own.h"
#include "kernel/sync/SpinLock.h"

namespace virtio::blk {

// Who may touch a request queue's ring. Changes only under the queue's lock;
// blk-mq's calls and the interrupt handler check it under that lock.
//   BlkMq    -> Draining  the raw benchmark wants the queue (lend_queue):
//                         blk-mq gets Busy, the handler still reaps what is
//                         in flight
//   Draining -> RawLoop   nothing in flight: the raw loop owns the ring (no
//                         lock), interrupts suppressed, the handler ignores it
//   RawLoop  -> BlkMq     the raw loop drained its own chains (return_queue)
//   any      -> Shutdown  power-off: the flush is polled here, nothing else
//                         touches the ring again
enum class QueueOwner : u8 { BlkMq, Draining, RawLoop, Shutdown };

class Disk;

// One request virtqueue and everything that belongs to it.
struct Queue {
    Disk* disk = nullptr;
    u16 index = 0; // virtqueue index on the device
    u16 msix_entry = 0; // MSI-X table entry (0 is configuration changes); NO_VECTOR for the raw queue
    u32 cpu = 0; // where its interrupt is delivered
    Atomic<u64> interrupts {0}; // how many times it fired (ktests compare)
    u64 last_stall_report_ns = 0; // timeout(): one ring report per queue per round
    char irq_name[24] = {};
    SpinLock lock{LockRank::Driver, "virtio-blk queue"}; // guards ring, requests and owner
    QueueOwner owner = QueueOwner::BlkMq;
    SplitVirtqueue* ring = nullptr;
    QueueNotifier notifier;
    RequestQueue* requests = nullptr; // null on the reserved raw queue
    // What create_ring allocated, for remove() to give back.
    DmaBuffer ring_memory, pool_memory;
    unsigned ring_order = 0, pool_order = 0;
    void* descriptor_state = nullptr;
};

class Disk final : public block::BlockDriver, public block::BenchDriver {
public:
    static constexpr u32 MAX_QUEUES = 64;

    // Owned from its first line: a bring-up that fails part-way runs ~Disk,
    // which gives back what had been acquired.
    static Result<Own<Disk>> create(::pci::Device& device);
    // The device reset (no more DMA), the block device (if registered), the
    // tag set, MSI-X vectors, rings and pools freed; out of the registry.
    ~Disk();

    // block::BlockDriver
    block::QueueStatus queue_request(block::HwQueue& hw, block::Request& request, bool last) override;
    void commit(block::HwQueue& hw) override;
    block::TimeoutAction timeout(block::Request& request, u32 generation) override;

    // block::BenchDriver
    // Commands straight onto one virtqueue, polled (RawBenchmark.cpp).
    bool raw_benchmark(
        block::BlockDevice& device, const block::BenchParams& params, block::BenchResult& out) override;

    // Interrupts and notifications (the "SQ doorbell" of virtio) of `hw`, or
    // of the raw loop when `hw` is null. Virtio has no completion doorbell.
    block::DriverQueueCounters queue_counters(block::HwQueue* hw) override;

    // Power-off (pci::shutdown_all): flush the write cache, polled, then
    // reset the device. Runs with interrupts possibly disabled.
    void shutdown();
    // Unbind (pci::unbind), as Linux's virtblk_remove: the block device
    // removed (EBUSY while mounted or open: nothing changes then), in-flight
    // I/O waited for, the device reset (§2.4), MSI-X vectors, rings,
    // indirect pools and the tag set freed. `this` is deleted.
    Result<void> remove();

    const char* name() const { return m_name; }
    block::BlockDevice* block_device() { return m_block_device; }
    u64 features() const { return m_features; }
    const DeviceInfo& info() const { return m_info; }
    u32 queue_count() const { return m_queue_count; }
    Queue& queue(u32 index) { return m_queues[index]; }
    // The virtqueue reserved for the raw benchmark loop (null when the device
    // offers no queue beyond one per CPU: the loop then borrows a request queue).
    Queue* raw_queue() { return m_raw_queue; }
    u64 config_interrupts() const { return m_config_interrupts.load(MemoryOrder::Relaxed); }
    // Device resets done by the timeout path, and the requests they handed
    // back to blk-mq (Recovery.cpp).
    u64 resets() const { return m_resets.load(MemoryOrder::Relaxed); }
    u64 requeued() const { return m_requeued.load(MemoryOrder::Relaxed); }
    bool is_dead() const { return m_dead.load(MemoryOrder::Acquire); }

private:
    explicit Disk(::pci::Device& device);

    Result<void> bring_up();
    Result<void> create_queues(u16 wanted, u16 queue_size, bool reserve_raw);
    Result<SplitVirtqueue*> create_ring(Queue& q, const SplitVirtqueue::Options& options);
    void free_queue(Queue& q);
    Result<void> create_block_device();
    void print_summary();

    // The raw loop's queue: the reserved one, or request queue `index` taken
    // from blk-mq once it has drained (false if it does not drain in time).
    bool lend_queue(Queue& q);
    void return_queue(Queue& q);
    Result<void> flush_polled(Queue& q);

    // Timeout recovery (Recovery.cpp), as NVMe's controller reset: reset the
    // device (§2.4), end what it had used, hand every other request back to
    // blk-mq, bring the device up again with the same features and rings.
    void reset_device();
    // Bring-up after a reset: features, config vector, queues, DRIVER_OK.
    Result<void> reinitialize_device();
    // The reset failed: every request from now on ends with EIO.
    void fail_device();
    // virtio_blk.stall_after=N (fault injection): after N completions the
    // interrupt handler stops reaping, as if the ring were broken, until the
    // timeout path resets the device. One load per interrupt while unarmed.
    bool stalled_for_test(usize reaped);

    static void queue_interrupt(void* context);
    // Reap the used ring and complete what it returned (the handler, and a
    // timeout looking for a lost interrupt).
    static void reap_queue(Queue& q);
    static void config_interrupt(void* context);

    ::pci::Device& m_pci;
    PciAdapter m_adapter;
    Own<PciTransport> m_transport;
    bool m_registered = false; // in the disk registry
    bool m_number_reserved = false; // m_index is held in the registry during bring-up
    u32 m_index = 0;
    char m_name[16] = {}; // "vda"
    char m_set_name[16] = {}; // "virtio0"
    char m_config_irq_name[24] = {}; // "virtio0-config"
    u64 m_device_features = 0;
    u64 m_features = 0; // negotiated
    DeviceInfo m_info{};
    u16 m_device_queues = 0; // what the device offers
    u16 m_queue_size = 0;
    u16 m_indirect_entries = 0;
    u32 m_queue_count = 0;
    Queue m_queues[MAX_QUEUES + 1]; // request queues, then the raw queue if reserved
    Queue* m_raw_queue = nullptr;
    Atomic<bool> m_raw_running {false}; // one raw benchmark at a time
    Atomic<u64> m_raw_notifications {0}; // by the raw loop, over all its runs
    bool m_shut_down = false;
    CommandBuffer m_shutdown_command{}; // the power-off flush
    Atomic<u64> m_config_interrupts {0};
    Atomic<bool> m_resetting {false}; // queue_request says Busy, the handler leaves the rings alone
    Atomic<bool> m_dead {false};      // a reset failed; requests end with EIO
    Atomic<u64> m_resets {0}, m_requeued {0};
    u64 m_stall_after = 0;    // virtio_blk.stall_after (0: off)
    Atomic<u64> m_reaped_for_stall {0};
    Atomic<bool> m_stalled {false};
    Own<block::TagSet> m_tag_set;
    Own<block::BlockDevice> m_new_device;        // created, not yet registered
    block::BlockDevice* m_block_device = nullptr; // registered (the registry owns it)
};

// Disks bound so far (ktests, the benchmark).
u32 disk_count();
Disk* disk_at(u32 index);

} // namespace virtio::blk
