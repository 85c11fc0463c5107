// The benchmark's side of the NVMe driver (block::BenchDriver): the raw
// queue loop that drives the spare queue pair directly, bypassing blk-mq
// (kernel/block/Bench.h), and the per-queue event counters.
#include "drivers/nvme/Controller.h"

#include "arch/x86_64/Cpu.h"
#include "drivers/pci/DmaPages.h"
#include "kernel/block/Bench.h"
#include "kernel/mm/Heap.h"
#include "kernel/mm/PageAllocator.h"
#include "kernel/time/Clock.h"

namespace nvme {

block::DriverQueueCounters Controller::queue_counters(block::HwQueue* hw)
{
    IoQueue* queue = hw ? static_cast<IoQueue*>(hw->driver_data) : m_raw_queue.ptr();
    if (!queue)
        return {};
    const Queue::Counters& ring = queue->ring().counters();
    return {true, queue->interrupts.load(MemoryOrder::Relaxed), ring.sq_doorbell_writes,
            ring.cq_doorbell_writes};
}

// --- the raw queue loop (benchmark) ---------------------------------------------------

namespace {

struct RawSlot {
    DmaBuffer buffer;
    PrpDescriptor prps;
    u64 submit_ns;
};

struct RawReaped {
    u16 ids[1024];
    u16 statuses[1024];
    u32 count;
};

void collect_raw(const CompletionEntry& cqe, void* context)
{
    auto& reaped = *static_cast<RawReaped*>(context);
    if (reaped.count < 1024) {
        reaped.ids[reaped.count] = cqe.command_id;
        reaped.statuses[reaped.count] = cqe.status_field();
        reaped.count++;
    }
}

} // namespace

bool Controller::raw_benchmark(block::BlockDevice& device, const block::BenchParams& p, block::BenchResult& out)
{
    IoQueue* queue = m_raw_queue.ptr();
    auto* ns = static_cast<Namespace*>(device.driver_data());
    if (!queue || !ns)
        return false;
    const u32 depth = min<u32>(p.queue_depth, queue->depth() - 1u);
    const unsigned order = mm::order_for_bytes(p.block_bytes);
    auto* slots = static_cast<RawSlot*>(kzalloc(sizeof(RawSlot) * depth));
    auto* reaped = static_cast<RawReaped*>(kzalloc(sizeof(RawReaped)));
    if (!slots || !reaped)
        return false;
    const u64 blocks = device.capacity_bytes() / p.block_bytes;
    const u32 lbas = p.block_bytes >> ns->lba_shift;
    u64 random = 0x1234, next_block = 0;
    auto submit = [&](u16 id) {
        RawSlot& slot = slots[id];
        random = random * 6364136223846793005ul + 1442695040888963407ul;
        const u64 block = p.random ? (random >> 17) % blocks : next_block++ % blocks;
        const u64 slba = block * lbas;
        SubmissionEntry e {};
        e.opcode = p.write ? io::WRITE : io::READ;
        e.command_id = id;
        e.nsid = ns->nsid;
        e.prp1 = slot.prps.prp1;
        e.prp2 = slot.prps.prp2;
        e.cdw10 = static_cast<u32>(slba);
        e.cdw11 = static_cast<u32>(slba >> 32);
        e.cdw12 = lbas - 1;
        slot.submit_ns = clock_ns();
        return queue->submit_raw(e);
    };
    u32 ready = 0;
    for (; ready < depth; ready++) {
        RawSlot& slot = slots[ready];
        slot.buffer = alloc_dma_pages(order);
        if (!slot.buffer)
            break;
        PrpBuilder builder(queue->prp_pool(), slot.prps);
        if (builder.add_segment(slot.buffer.phys, p.block_bytes).is_error()) {
            free_dma_pages(slot.buffer, order);
            slot.buffer = {};
            break;
        }
        builder.finish();
    }
    const u64 start = clock_ns();
    const u64 end = start + p.duration_ns;
    u32 in_flight = 0;
    for (u16 id = 0; id < ready; id++)
        in_flight += submit(id);
    queue->commit();
    while (in_flight) {
        reaped->count = 0;
        const u64 reap_start = clock_ns();
        queue->reap_raw(collect_raw, reaped);
        if (!reaped->count) {
            x86::pause();
            continue;
        }
        const u64 now = clock_ns();
        out.reap_ns += now - reap_start;
        for (u32 i = 0; i < reaped->count; i++) {
            const u16 id = reaped->ids[i];
            out.latency.record(now - slots[id].submit_ns);
            out.ios++;
            out.bytes += p.block_bytes;
            if (reaped->statuses[i] != status::SUCCESS)
                out.errors++;
            if (now < end && submit(id))
                continue;
            in_flight--;
        }
        queue->commit(); // one doorbell for the whole batch of resubmissions
        out.submit_ns += clock_ns() - now;
    }
    out.elapsed_ns = clock_ns() - start;
    for (u32 i = 0; i < ready; i++) {
        free_prp_lists(queue->prp_pool(), slots[i].prps);
        free_dma_pages(slots[i].buffer, order);
    }
    kfree(slots);
    kfree(reaped);
    return true;
}

} // namespace nvme
