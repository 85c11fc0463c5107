// An NVMe controller: bring-up per NVMe 1.4 §7.6.1 (reset, admin queue,
// enable), Identify, Set Features (Number of Queues), one interrupt-driven
// I/O queue pair per CPU with its MSI-X vector on that CPU, optional polled
// queue pairs, one raw queue pair for the benchmark, shadow doorbells when
// offered, one block device per active namespace, timeouts (abort, then
// controller reset with requeue), and shutdown (CC.SHN) at power-off.
#pragma once

#include "drivers/nvme/IoQueue.h"
#include "drivers/nvme/Queue.h"
#include "drivers/nvme/Spec.h"
#include "drivers/pci/DmaPool.h"
#include "drivers/pci/Pci.h"
#include "kernel/block/BlockDevice.h"
#include "kernel/block/Driver.h"
#include "kernel/lib/Result.h"

namespace nvme {

constexpr u32 MAX_IO_QUEUES = 64;
constexpr u32 MAX_NAMESPACES = 16;
constexpr u32 MAX_CONTROLLERS = 8;
constexpr u16 ADMIN_QUEUE_DEPTH = 32;

struct Namespace {
    u32 nsid = 0;
    u32 lba_shift = 9;
    u64 lba_count = 0;
    block::BlockDevice* device = nullptr;
};

class Controller final : public block::BlockDriver {
public:
    static Result<Controller*> create(pci::Device& pci_device);

    // --- block::BlockDriver ---
    block::QueueStatus queue_request(block::HwQueue& hw, block::Request& request, bool last) override;
    void commit(block::HwQueue& hw) override;
    u32 poll(block::HwQueue& hw) override;
    block::TimeoutAction timeout(block::Request& request) override;
    bool raw_benchmark(block::BlockDevice& device, const block::BenchParams& params,
                       block::BenchResult& result) override;
    block::DriverQueueCounters queue_counters(block::HwQueue* hw) override;

    // Power-off: CC.SHN and wait for CSTS.SHST (§7.6.2).
    void shutdown();
    // Unbind (pci::unbind), as Linux's nvme_remove: every namespace's block
    // device removed (EBUSY while one is mounted or open: nothing changes
    // then), in-flight I/O waited for, I/O queues deleted, shutdown and
    // disable, MSI-X vectors freed, all memory freed. `this` is deleted.
    Result<void> remove();

    const char* name() const { return m_name; }
    u32 index() const { return m_index; }
    volatile u8* registers() { return m_regs; }
    u32 doorbell_stride_shift() const { return m_cap.doorbell_stride_shift(); }
    block::TagSet* tag_set() { return m_tag_set; }
    u32 io_queue_count() const { return m_io_queue_count; }
    u32 poll_queue_count() const { return m_poll_queue_count; }
    IoQueue& io_queue(u32 index) { return *m_io_queues[index]; }
    // The queue pair the benchmark drives directly (nullptr if the controller
    // had no queue to spare).
    IoQueue* raw_queue() { return m_raw_queue; }
    Namespace* namespace_at(u32 index) { return index < m_namespace_count ? &m_namespaces[index] : nullptr; }
    u32 namespace_count() const { return m_namespace_count; }
    u64 resets() const { return m_resets; }
    bool is_dead() const { return __atomic_load_n(&m_dead, __ATOMIC_ACQUIRE); }
    u64 aborts() const { return m_aborts; }
    // Requests requeued by resets, over every I/O queue; queues that had some.
    u64 requeued(u32* queues_with_requeues = nullptr) const
    {
        u64 total = 0;
        u32 queues = 0;
        for (u32 i = 0; i < m_io_queue_count + m_poll_queue_count; i++) {
            total += m_io_queues[i]->requeued;
            queues += m_io_queues[i]->requeued != 0;
        }
        if (queues_with_requeues)
            *queues_with_requeues = queues;
        return total;
    }

    // Synchronous admin command (polled; serialised). Returns the CQE or
    // an errno (ETIMEDOUT, or the status mapped).
    Result<CompletionEntry> admin(SubmissionEntry command, u64 timeout_ns = 5'000'000'000ul);

    // Fault injection (nvme.drop_cqe=N on the command line): the Nth I/O
    // completion this controller reaps is ignored, as if it had been lost,
    // so that request can only end through the timeout path. True for that one.
    bool drop_completion_for_test();

    static usize count();
    static Controller* at(usize index);

private:
    explicit Controller(pci::Device& device) : m_pci(device) { }

    u32 read32(u32 offset) const { return *reinterpret_cast<volatile u32*>(m_regs + offset); }
    u64 read64(u32 offset) const { return *reinterpret_cast<volatile u64*>(m_regs + offset); }
    void write32(u32 offset, u32 value) { *reinterpret_cast<volatile u32*>(m_regs + offset) = value; }
    void write64(u32 offset, u64 value) { *reinterpret_cast<volatile u64*>(m_regs + offset) = value; }
    volatile u32* doorbell(u32 offset) { return reinterpret_cast<volatile u32*>(m_regs + offset); }

    Result<void> disable();
    Result<void> enable();
    Result<void> wait_ready(bool ready);
    Result<void> setup_admin_queue();
    Result<void> identify();
    Result<u32> negotiate_queue_count(u32 wanted);
    Result<void> create_io_queues();
    Result<void> create_queue_pair(IoQueue& queue, bool interrupts);
    Result<void> setup_shadow_doorbells();
    Result<void> scan_namespaces();
    Result<void> create_tag_set();
    // Disable, re-enable, recreate queues; in-flight requests go back to blk-mq.
    Result<void> reset();
    // A reset failed: stop DMA, hand back what the rings held, fail it all with EIO.
    void fail_controller();
    void print_summary();
    // remove()'s steps after the block devices are gone.
    void delete_io_queues();
    void release_resources();

    pci::Device& m_pci;
    char m_name[16] = {};
    u32 m_index = 0;
    volatile u8* m_regs = nullptr;
    CapabilityReg m_cap {0};
    u32 m_version = 0;
    u32 m_max_transfer_bytes = 0;
    bool m_volatile_write_cache = false;
    u16 m_oacs = 0;
    u32 m_namespace_id_count = 0;
    char m_model[41] = {};
    char m_serial[21] = {};

    // Admin queue (polled).
    DmaBuffer m_admin_sq, m_admin_cq;
    Queue* m_admin = nullptr;
    u16 m_admin_next_cid = 0;
    bool m_admin_busy = false;

    IoQueue* m_io_queues[MAX_IO_QUEUES] = {};
    u32 m_io_queue_count = 0;   // interrupt-driven, one per CPU
    u32 m_poll_queue_count = 0; // follow the interrupt queues
    IoQueue* m_raw_queue = nullptr;
    u16 m_io_queue_depth = 0;

    DmaBuffer m_shadow_doorbells, m_event_indexes;
    bool m_shadow_enabled = false;

    Namespace m_namespaces[MAX_NAMESPACES];
    u32 m_namespace_count = 0;
    block::TagSet* m_tag_set = nullptr;

    bool m_resetting = false;
    bool m_removing = false; // remove() gave up waiting: fail what still arrives
    bool m_dead = false; // a reset failed: every request ends with EIO
    bool m_fail_reset = false; // nvme.fail_reset: resets fail (tests the dead path)
    u64 m_drop_cqe_at = 0; // 0: off
    u64 m_cqes_reaped = 0;
    u64 m_resets = 0;
    u64 m_aborts = 0;
};

} // namespace nvme
