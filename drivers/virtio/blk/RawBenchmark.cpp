// The benchmark's raw level for virtio-blk (kernel/block/Bench.h): requests
// put straight onto one split virtqueue - no bios, no tags, no blk-mq - with
// the same SplitVirtqueue as the I/O path (a chain of header, data and status
// in one indirect descriptor, one avail->idx store and at most one
// notification per batch as the event index decides), completions polled from
// the used ring with the device's interrupts suppressed. What separates the
// two levels is then exactly blk-mq, the interrupt and the thread wake-up.
//
// Which queue:
//  - the queue reserved at probe time when the device offers more queues
//    than there are CPUs (e.g. -device virtio-blk-pci,num-queues=3 with
//    -smp 2): blk-mq never uses it, it has no MSI-X vector;
//  - otherwise the last request queue, borrowed from blk-mq: it is marked
//    Draining (blk-mq's queue_request gets Busy, the interrupt handler still
//    reaps), then, with nothing in flight, RawLoop (the handler leaves the
//    ring alone, interrupts suppressed). The loop owns the ring without its
//    lock. Afterwards the queue goes back to blk-mq, interrupts re-armed, and
//    blk-mq is kicked for anything that was told Busy meanwhile. I/O from the
//    CPU mapped onto that queue waits for the benchmark to end; other CPUs'
//    queues keep working. Fine for a benchmark run on an idle disk, which is
//    what bench=blk is.
#include "arch/x86_64/Cpu.h"
#include "drivers/pci/DmaPages.h"
#include "drivers/virtio/blk/VirtioBlk.h"
#include "kernel/block/Bench.h"
#include "kernel/block/TagSet.h"
#include "kernel/log/Log.h"
#include "kernel/mm/Heap.h"
#include "kernel/sched/Scheduler.h"
#include "kernel/time/Clock.h"

namespace virtio::blk {

namespace {

constexpr const char* TAG = "virtio-blk";
// How long a borrowed queue may take to finish blk-mq's requests.
constexpr u64 DRAIN_TIMEOUT_NS = 2'000'000'000ul;

// One request slot of the loop: its command (header and status the device
// reads and writes) and its data buffer. The chain's token is the slot. The
// slots live in DMA pages (physically contiguous), so no command straddles
// a page the device sees elsewhere.
struct RawSlot {
    CommandBuffer command;
    DmaBuffer buffer;
    u64 submit_ns;
};

unsigned order_for_bytes(u32 bytes)
{
    unsigned order = 0;
    while ((PAGE_SIZE << order) < bytes)
        order++;
    return order;
}

} // namespace

bool Disk::lend_queue(Queue& q)
{
    if (&q == m_raw_queue)
        return true; // reserved: always the loop's
    {
        SpinLockGuard guard(q.lock);
        if (q.owner != QueueOwner::BlkMq)
            return false;
        q.owner = QueueOwner::Draining;
    }
    const u64 deadline = clock_ns() + DRAIN_TIMEOUT_NS;
    for (;;) {
        {
            SpinLockGuard guard(q.lock);
            if (q.ring->in_flight() == 0 && !q.ring->has_unpublished()) {
                q.owner = QueueOwner::RawLoop;
                return true;
            }
        }
        if (clock_ns() > deadline) {
            return_queue(q);
            return false;
        }
        sched::yield();
    }
}

void Disk::return_queue(Queue& q)
{
    if (&q == m_raw_queue)
        return;
    {
        SpinLockGuard guard(q.lock);
        q.owner = QueueOwner::BlkMq;
        // §2.7.7: ask for an interrupt at the next used buffer again (the
        // loop left nothing in flight, so nothing can be missed).
        if (!q.ring->interrupts_enabled())
            q.ring->enable_interrupts();
    }
    m_tag_set->kick_all();
}

bool Disk::raw_benchmark(block::BlockDevice& device, const block::BenchParams& p, block::BenchResult& out)
{
    if (&device != m_block_device || m_queue_count == 0 || (p.write && m_info.read_only))
        return false;
    if (m_raw_running.exchange(true, MemoryOrder::Acquire))
        return false;
    Queue& q = m_raw_queue ? *m_raw_queue : m_queues[m_queue_count - 1];
    if (!lend_queue(q)) {
        log_warn(TAG, "%s: raw loop: queue %u did not drain", m_name, q.index);
        m_raw_running.store(false, MemoryOrder::Release);
        return false;
    }
    SplitVirtqueue& ring = *q.ring;
    ring.disable_interrupts();

    // With indirect tables every request takes one ring descriptor; without,
    // its three.
    const u32 per_request = ring.max_indirect_entries() >= 3 ? 1 : 3;
    const u32 depth = min<u32>(p.queue_depth, ring.size() / per_request);
    const unsigned order = order_for_bytes(p.block_bytes);
    const unsigned slots_order = order_for_bytes(u32(sizeof(RawSlot) * depth));
    const DmaBuffer slot_pages = alloc_dma_pages(slots_order);
    auto* slots = static_cast<RawSlot*>(slot_pages.virt);
    auto* reaped = static_cast<RawSlot**>(kzalloc(sizeof(RawSlot*) * depth));
    auto phys_of = [&](const void* field) {
        return slot_pages.phys
            + PhysAddr(static_cast<const u8*>(field) - static_cast<const u8*>(slot_pages.virt));
    };
    u32 ready = 0;
    for (; slots && reaped && ready < depth; ready++) {
        slots[ready].buffer = alloc_dma_pages(order);
        if (!slots[ready].buffer)
            break;
    }
    if (ready == 0) {
        log_warn(TAG, "%s: raw loop: out of memory", m_name);
        if (slots)
            free_dma_pages(slot_pages, slots_order);
        kfree(reaped);
        return_queue(q);
        m_raw_running.store(false, MemoryOrder::Release);
        return false;
    }

    const u64 blocks = device.capacity_bytes() / p.block_bytes;
    const u64 block_sectors = p.block_bytes >> block::SECTOR_SHIFT;
    const Operation op = p.write ? Operation::Write : Operation::Read;
    u64 random = 0x1234, next_block = 0; // the same sequence as the NVMe loop
    u64 issued = 0, batches = 0, notifications = 0;
    auto submit = [&](RawSlot& slot) {
        random = random * 6364136223846793005ul + 1442695040888963407ul;
        const u64 block = p.random ? (random >> 17) % blocks : next_block++ % blocks;
        prepare_command(slot.command, op, block * block_sectors);
        const Segment chain[] = {
            { phys_of(&slot.command.header), sizeof(RequestHeader), false },
            { slot.buffer.phys, p.block_bytes, op == Operation::Read },
            { phys_of(&slot.command.status), 1, true },
        };
        slot.submit_ns = clock_ns();
        if (ring.add_chain(chain, ARRAY_SIZE(chain), &slot).is_error())
            return false;
        issued++;
        return true;
    };
    auto publish = [&] {
        if (!ring.has_unpublished())
            return;
        batches++;
        if (ring.publish()) {
            notifications++;
            m_raw_notifications.fetch_add(1ul, MemoryOrder::Relaxed);
            q.notifier.notify();
        }
    };

    const u64 start = clock_ns();
    const u64 end = start + p.duration_ns;
    u32 in_flight = 0;
    for (u32 i = 0; blocks && i < ready; i++)
        in_flight += submit(slots[i]);
    publish();
    while (in_flight && !ring.is_broken()) {
        u32 count = 0;
        UsedBuffer used;
        const u64 reap_start = clock_ns();
        while (count < depth && ring.pop_used(used))
            reaped[count++] = static_cast<RawSlot*>(used.token);
        if (!count) {
            x86::pause();
            continue;
        }
        const u64 now = clock_ns();
        out.reap_ns += now - reap_start;
        for (u32 i = 0; i < count; i++) {
            RawSlot& slot = *reaped[i];
            out.latency.record(now - slot.submit_ns);
            out.ios++;
            out.bytes += p.block_bytes;
            if (completion_errno(slot.command) != 0)
                out.errors++;
            if (now < end && submit(slot))
                continue;
            in_flight--;
        }
        publish(); // one index update, at most one notification, per batch
        out.submit_ns += clock_ns() - now;
    }
    out.elapsed_ns = clock_ns() - start;
    const bool broken = ring.is_broken();

    if (!broken) {
        return_queue(q);
        for (u32 i = 0; i < ready; i++)
            free_dma_pages(slots[i].buffer, order);
        free_dma_pages(slot_pages, slots_order);
    } else {
        // The device misbehaved: it may still write into the buffers, and
        // the queue stays out of blk-mq's hands.
        log_error(TAG, "%s: raw loop: queue %u broken; buffers leaked", m_name, q.index);
    }
    log_info(TAG, "%s: raw loop on queue %u (%s): %lu requests, %lu batches, %lu notifications", m_name,
        q.index, m_raw_queue ? "reserved" : "borrowed from blk-mq", issued, batches, notifications);
    kfree(reaped);
    m_raw_running.store(false, MemoryOrder::Release);
    return true;
}

} // namespace virtio::blk
