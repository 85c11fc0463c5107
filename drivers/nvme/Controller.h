// An NVMe controller: bring-up per NVMe 1.4 §7.6.1 (reset, admin queue,
// enable), Identify, Set Features (Number of Queues), one interrupt-driven
// I/O queue pair per CPU with its MSI-X vector on that CPU, optional polled
// queue pairs, one raw queue pair for the benchmark, shadow doorbells when
// offered, one block device per active namespace, timeouts (abort, then
// controller reset with requeue), and shutdown (CC.SHN) at power-off.
//
// One file per part: Controller.cpp (create, teardown, the registry, the PCI
// driver), BringUp.cpp (registers, queues, tag set), AdminCommands.cpp,
// Namespaces.cpp, Recovery.cpp (timeout, abort, reset), Removal.cpp, and
// RawLoop.cpp (the benchmark's raw queue loop and counters).
//
// Ownership: create() owns the controller from its first line; everything
// it acquires (DMA pages, queues, MSI-X vectors, the tag set, registered
// namespaces) is held so that ~Controller gives it back, in the right order,
// whether bring-up failed part-way or remove() finished.
#pragma once

#include "drivers/nvme/IoQueue.h"
#include "drivers/nvme/Queue.h"
#include "drivers/nvme/Spec.h"
#include "drivers/pci/DmaPool.h"
#include "drivers/pci/Pci.h"
#include "kernel/block/BlockDevice.h"
#include "kernel/block/Driver.h"
#include "kernel/block/bench/BenchDriver.h"
#include "kernel/lib/Atomic.h"
#include "kernel/lib/NumberedTable.h"
#include "kernel/lib/Own.h"
#include "kernel/lib/Result.h"
#include "kernel/sync/Mutex.h"

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

class Controller final : public block::BlockDriver, public block::BenchDriver {
public:
    static Result<Own<Controller>> create(pci::Device& pci_device);
    // Everything the controller holds, given back (see the header comment).
    ~Controller();

    // --- block::BlockDriver ---
    block::QueueStatus queue_request(block::HwQueue& hw, block::Request& request, bool last) override;
    void commit(block::HwQueue& hw) override;
    u32 poll(block::HwQueue& hw) override;
    block::TimeoutAction timeout(block::Request& request, u32 generation) override;

    // --- block::BenchDriver (RawLoop.cpp) ---
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
    // A doorbell register inside BAR0, or ENODEV when CAP.DSTRD puts it
    // beyond the BAR (a device value is never trusted to be in range).
    Result<volatile u32*> doorbell_register(u64 offset);

    const char* name() const { return m_name; }
    u32 index() const { return m_index; }
    volatile u8* registers() { return m_regs; }
    u32 doorbell_stride_shift() const { return m_cap.doorbell_stride_shift(); }
    block::TagSet* tag_set() { return m_tag_set.ptr(); }
    u32 io_queue_count() const { return m_io_queue_count; }
    u32 poll_queue_count() const { return m_poll_queue_count; }
    IoQueue& io_queue(u32 index) { return *m_io_queues[index]; }
    // The queue pair the benchmark drives directly (nullptr if the controller
    // had no queue to spare).
    IoQueue* raw_queue() { return m_raw_queue.ptr(); }
    Namespace* namespace_at(u32 index) { return index < m_namespace_count ? &m_namespaces[index] : nullptr; }
    u32 namespace_count() const { return m_namespace_count; }
    u64 resets() const { return m_resets.load(MemoryOrder::Relaxed); }
    bool is_dead() const { return m_dead.load(MemoryOrder::Acquire); }
    u64 aborts() const { return m_aborts.load(MemoryOrder::Relaxed); }
    // Requests requeued by resets, over every I/O queue; queues that had some.
    u64 requeued(u32* queues_with_requeues = nullptr) const
    {
        u64 total = 0;
        u32 queues = 0;
        for (u32 i = 0; i < m_io_queue_count + m_poll_queue_count; i++) {
            const u64 count = m_io_queues[i]->requeued.load(MemoryOrder::Relaxed);
            total += count;
            queues += count != 0;
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
    // so that request can only end through the timeout path. True for that
    // one. The reaper asks only while dropping_completions() (one load of a
    // flag that is false unless the option was given), outside its lock.
    bool dropping_completions() const { return m_drop_cqe_armed.load(MemoryOrder::Relaxed); }
    bool drop_completion_for_test();

    static usize count();
    static Controller* at(usize index);

private:
    explicit Controller(pci::Device& device) : m_pci(device) { }

    u32 read32(u32 offset) const { return *reinterpret_cast<volatile u32*>(m_regs + offset); }
    u64 read64(u32 offset) const { return *reinterpret_cast<volatile u64*>(m_regs + offset); }
    void write32(u32 offset, u32 value) { *reinterpret_cast<volatile u32*>(m_regs + offset) = value; }
    void write64(u32 offset, u64 value) { *reinterpret_cast<volatile u64*>(m_regs + offset) = value; }
    // Out of the registry (the index and name can be taken again).
    void unregister();

    Result<void> disable();
    Result<void> enable();
    Result<void> wait_ready(bool ready);
    Result<void> setup_admin_queue();
    Result<void> check_registers();
    Result<void> identify();
    Result<u32> negotiate_queue_count(u32 wanted);
    Result<void> create_io_queues();
    Result<void> create_queue_pair(IoQueue& queue, bool interrupts);
    Result<void> setup_shadow_doorbells();
    Result<void> scan_namespaces();
    // Takes away the namespaces registered so far (bring-up failed after).
    void unregister_namespaces();
    Result<void> create_tag_set();
    // Disable, re-enable, recreate queues; in-flight requests go back to blk-mq.
    Result<void> reset();
    // A reset failed: stop DMA, hand back what the rings held, fail it all with EIO.
    void fail_controller();
    void print_summary();
    // remove()'s step after the block devices are gone.
    void delete_io_queues();

    pci::Device& m_pci;
    char m_name[16] = {};
    u32 m_index = 0;
    volatile u8* m_regs = nullptr;
    u64 m_regs_size = 0; // BAR0 bytes
    CapabilityReg m_cap {0};
    u32 m_version = 0;
    u32 m_max_transfer_bytes = 0;
    bool m_volatile_write_cache = false;
    u16 m_oacs = 0;
    u32 m_namespace_id_count = 0;
    char m_model[41] = {};
    char m_serial[21] = {};

    // Admin queue (polled). One command at a time: boot, the timeout
    // worker and removal may all want it; m_admin_lock serialises them.
    DmaPages m_admin_sq, m_admin_cq;
    Own<Queue> m_admin;
    Mutex m_admin_lock{LockRank::MutexDriver, "nvme admin queue"};
    u16 m_admin_next_cid = 0; // under m_admin_lock

    // State of the hardware the destructor must undo.
    bool m_enabled = false;      // CC.EN was set: disable before freeing rings
    bool m_msix_enabled = false; // enable_msix() succeeded
    bool m_registered = false;   // in the controller registry
    bool m_number_reserved = false; // m_index is held in the registry during bring-up

    Own<IoQueue> m_io_queues[MAX_IO_QUEUES];
    u32 m_io_queue_count = 0;   // interrupt-driven, one per CPU
    u32 m_poll_queue_count = 0; // follow the interrupt queues
    Own<IoQueue> m_raw_queue;
    u16 m_io_queue_depth = 0;

    DmaPages m_shadow_doorbells, m_event_indexes;
    bool m_shadow_enabled = false;

    Namespace m_namespaces[MAX_NAMESPACES];
    u32 m_namespace_count = 0;
    Own<block::TagSet> m_tag_set;

    // Read by queue_request on every CPU; written by the timeout worker and removal.
    Atomic<bool> m_resetting {false};
    Atomic<bool> m_removing {false}; // remove() gave up waiting: fail what still arrives
    Atomic<bool> m_dead {false}; // a reset failed: every request ends with EIO
    bool m_fail_reset = false; // nvme.fail_reset: resets fail (tests the dead path)
    u64 m_drop_cqe_at = 0; // 0: off
    Atomic<bool> m_drop_cqe_armed {false}; // until the Nth completion was dropped
    Atomic<u64> m_cqes_reaped {0};
    Atomic<u64> m_resets {0};
    Atomic<u64> m_aborts {0};
};

} // namespace nvme
