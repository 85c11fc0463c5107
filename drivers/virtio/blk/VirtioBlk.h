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

#include "drivers/pci/Pci.h"
#include "drivers/virtio/PciAdapter.h"
#include "drivers/virtio/PciTransport.h"
#include "drivers/virtio/SplitVirtqueue.h"
#include "drivers/virtio/blk/Command.h"
#include "drivers/virtio/blk/RequestQueue.h"
#include "kernel/block/BlockDevice.h"
#include "kernel/block/Driver.h"
#include "kernel/sync/SpinLock.h"

namespace virtio::blk {

// One request virtqueue and everything that belongs to it.
struct Queue {
    u16 index = 0; // virtqueue index on the device
    u16 msix_entry = 0; // MSI-X table entry (0 is configuration changes)
    u32 cpu = 0; // where its interrupt is delivered
    u64 interrupts = 0; // how many times it fired (ktests compare)
    char irq_name[24] = {};
    SpinLock lock; // guards ring and requests (submit, commit, reap)
    SplitVirtqueue* ring = nullptr;
    RequestQueue* requests = nullptr;
};

class Disk final : public block::BlockDriver {
public:
    static constexpr u32 MAX_QUEUES = 64;

    static Result<Disk*> create(::pci::Device& device);

    // block::BlockDriver
    block::QueueStatus queue_request(block::HwQueue& hw, block::Request& request, bool last) override;
    void commit(block::HwQueue& hw) override;
    block::TimeoutAction timeout(block::Request& request) override;

    const char* name() const { return m_name; }
    block::BlockDevice* block_device() { return m_block_device; }
    u64 features() const { return m_features; }
    const DeviceInfo& info() const { return m_info; }
    u32 queue_count() const { return m_queue_count; }
    Queue& queue(u32 index) { return m_queues[index]; }
    u64 config_interrupts() const { return m_config_interrupts; }

private:
    explicit Disk(::pci::Device& device);

    Result<void> bring_up();
    Result<void> create_queues(u16 wanted, u16 queue_size);
    Result<void> create_block_device();
    void print_summary();

    static void queue_interrupt(void* context);
    static void config_interrupt(void* context);

    ::pci::Device& m_pci;
    PciAdapter m_adapter;
    PciTransport* m_transport = nullptr;
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
    Queue m_queues[MAX_QUEUES];
    u64 m_config_interrupts = 0;
    block::TagSet* m_tag_set = nullptr;
    block::BlockDevice* m_block_device = nullptr;
};

// Disks bound so far (ktests, the benchmark).
u32 disk_count();
Disk* disk_at(u32 index);

} // namespace virtio::blk
