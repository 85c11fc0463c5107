#include "drivers/nvme/IoQueue.h"

#include "arch/x86_64/Cpu.h"
#include "drivers/nvme/CommandId.h"
#include "drivers/nvme/Controller.h"
#include "drivers/nvme/Status.h"
#include "drivers/pci/DmaPages.h"
#include "kernel/block/BlkMq.h"
#include "kernel/block/BlockDevice.h"
#include "kernel/log/Log.h"
#include "kernel/mm/PageAllocator.h"

namespace nvme {

namespace {

// Requests completed per locked reaping round; completed after the lock drops.
constexpr u32 REAP_BATCH = 64;

// A request caught in this many controller resets fails with EIO instead of
// being issued again (Linux nvme_max_retries).
constexpr u32 MAX_RESET_RETRIES = 5;

} // namespace

IoQueue::IoQueue(Controller& controller, u16 qid, u16 depth, bool polled, DmaPages&& sq, DmaPages&& cq,
                 volatile u32* sq_doorbell, volatile u32* cq_doorbell)
    : m_controller(controller), m_polled(polled), m_sq_memory(kstd::move(sq)), m_cq_memory(kstd::move(cq)),
      m_ring(qid, depth, static_cast<SubmissionEntry*>(m_sq_memory.virt()),
             static_cast<CompletionEntry*>(m_cq_memory.virt()), sq_doorbell, cq_doorbell),
      m_prp_pool("nvme-prp", kernel_dma_pages(), PAGE_SIZE)
{
}

Result<Own<IoQueue>> IoQueue::create(Controller& controller, u16 qid, u16 depth, bool polled)
{
    // Owned as soon as allocated: any failure below gives the pages back.
    DmaPages sq = DmaPages::allocate(mm::order_for_bytes(usize(depth) * sizeof(SubmissionEntry)));
    DmaPages cq = DmaPages::allocate(mm::order_for_bytes(usize(depth) * sizeof(CompletionEntry)));
    if (!sq || !cq)
        return Error::from_errno(ENOMEM);
    volatile u32* sq_doorbell = TRY(controller.doorbell_register(sq_tail_doorbell_offset(qid, controller.doorbell_stride_shift())));
    volatile u32* cq_doorbell = TRY(controller.doorbell_register(cq_head_doorbell_offset(qid, controller.doorbell_stride_shift())));
    return adopt_own_or_enomem(new (nothrow) IoQueue(controller, qid, depth, polled, kstd::move(sq), kstd::move(cq),
                                                     sq_doorbell, cq_doorbell));
}

// The rings and the PRP pool free themselves (DmaPages, DmaPool).
IoQueue::~IoQueue() = default;

void IoQueue::free_prps(RequestData& data)
{
    if (data.prps.list_page_count == 0)
        return;
    SpinLockGuard guard(m_pool_lock);
    free_prp_lists(m_prp_pool, data.prps);
}

u64 IoQueue::prp_pages_in_use()
{
    SpinLockGuard guard(m_pool_lock);
    return m_prp_pool.blocks_in_use();
}

Result<void> IoQueue::build_command(block::Request& request, SubmissionEntry& entry)
{
    auto& ns = *static_cast<Namespace*>(request.device->driver_data());
    auto& data = request.driver_data_as<RequestData>();
    data.qid = qid();
    data.aborted = false;
    data.in_ring = false;
    data.requeue_pending = false;
    data.prps = PrpDescriptor {};
    entry = SubmissionEntry {};
    // The tag and this issue's generation (CommandId.h): a late completion
    // for an earlier issue of the tag is told apart and dropped.
    entry.command_id = make_command_id(request.tag, request.generation.load(MemoryOrder::Relaxed));
    entry.nsid = ns.nsid;
    if (request.op == block::BioOp::Flush) {
        entry.opcode = io::FLUSH;
        return {};
    }
    entry.opcode = request.op == block::BioOp::Write ? io::WRITE : io::READ;
    // NVM command set §6.9.1: SLBA in CDW10-11, NLB (0's based) in CDW12.
    const u64 slba = request.sector >> (ns.lba_shift - block::SECTOR_SHIFT);
    const u32 blocks = request.size_bytes >> ns.lba_shift;
    entry.cdw10 = static_cast<u32>(slba);
    entry.cdw11 = static_cast<u32>(slba >> 32);
    entry.cdw12 = (blocks - 1) | ((request.flags & block::BIO_FUA) ? io::RW_FUA : 0);

    // The common case - one piece of memory within two pages (a 4 KiB I/O,
    // aligned or not) - needs no PRP list: PRP1 and PRP2 directly, no pool,
    // no lock (Linux nvme_setup_prp_simple).
    if (request.bio_head == request.bio_tail && request.segment_count == 1) {
        const block::Bio& bio = *request.bio_head;
        const block::BioVec& vec = bio.vecs[bio.iter.index];
        const PhysAddr phys = mm::page_to_phys(vec.page) + vec.offset + bio.iter.done_bytes;
        const u64 first_page_bytes = PAGE_SIZE - (phys & (PAGE_SIZE - 1));
        if (!(phys & 3) && request.size_bytes <= first_page_bytes + PAGE_SIZE) {
            entry.prp1 = data.prps.prp1 = phys;
            if (request.size_bytes > first_page_bytes)
                entry.prp2 = data.prps.prp2 = (phys & ~u64(PAGE_SIZE - 1)) + PAGE_SIZE;
            return {};
        }
    }

    Result<void> result {};
    {
        SpinLockGuard guard(m_pool_lock);
        PrpBuilder builder(m_prp_pool, data.prps);
        for (block::Bio* bio = request.bio_head; bio && !result.is_error(); bio = bio->next) {
            block::for_each_segment(*bio, [&](const block::BioSegment& segment) {
                if (result.is_error())
                    return;
                const PhysAddr phys = mm::page_to_phys(segment.page) + segment.offset;
                auto added = builder.add_segment(phys, segment.length);
                if (added.is_error())
                    result = added.error();
            });
        }
        builder.finish();
        if (result.is_error())
            free_prp_lists(m_prp_pool, data.prps);
    }
    entry.prp1 = data.prps.prp1;
    entry.prp2 = data.prps.prp2;
    return result;
}

block::QueueStatus IoQueue::issue(block::Request& request, bool last)
{
    SubmissionEntry entry;
    auto built = build_command(request, entry);
    if (built.is_error()) {
        log_warn("nvme", "queue %u: cannot describe request (errno %d)", qid(), built.error().code());
        block::complete_request(request, built.error().code());
        if (last)
            commit(); // the batch's earlier commands are in the ring: ring for them
        return block::QueueStatus::Ok;
    }
    {
        SpinLockGuard guard(m_sq_lock);
        // Stopped: a controller reset is collecting what is in the ring;
        // blk-mq keeps this one and issues it after the reset (kick_all).
        if (!m_stopped.load(MemoryOrder::Acquire) && !m_ring.is_full()) {
            request.driver_data_as<RequestData>().in_ring = true;
            m_ring.submit(entry);
            if (last)
                m_ring.commit();
            return block::QueueStatus::Ok;
        }
    }
    free_prps(request.driver_data_as<RequestData>());
    return block::QueueStatus::Busy;
}

void IoQueue::commit()
{
    SpinLockGuard guard(m_sq_lock);
    m_ring.commit();
}

u32 IoQueue::reap()
{
    m_reapers.fetch_add(1, MemoryOrder::SeqCst);
    u32 total = 0;
    if (!m_stopped.load(MemoryOrder::SeqCst))
        total = reap_locked_batches();
    m_reapers.fetch_sub(1, MemoryOrder::Release);
    return total;
}

block::Request* IoQueue::accept_completion(const CompletionEntry& cqe)
{
    const u32 depth = m_hw ? m_hw->depth() : 0;
    const u32 tag = command_id_tag(cqe.command_id);
    InFlightCommand command {};
    block::Request* request = nullptr;
    if (tag < depth) {
        request = &m_hw->request(tag);
        command.issued = request->state.load(MemoryOrder::Acquire) == block::RequestState::Issued;
        command.in_ring = request->driver_data_as<RequestData>().in_ring;
        command.generation = request->generation.load(MemoryOrder::Relaxed);
    }
    const CompletionVerdict verdict = classify_completion(cqe.command_id, depth, request ? &command : nullptr);
    if (verdict != CompletionVerdict::Accept) {
        rejected_completions.fetch_add(1, MemoryOrder::Relaxed);
        if (m_warnings.allow())
            log_warn("nvme", "queue %u: completion for command id 0x%x dropped: %s", qid(), cqe.command_id,
                     completion_verdict_name(verdict));
        return nullptr;
    }
    request->driver_data_as<RequestData>().in_ring = false;
    return request;
}

void IoQueue::report_error(const block::Request& request, u16 status, int error)
{
    // Interrupt context: a failing device must not flood the log.
    if (m_warnings.allow())
        log_warn("nvme", "queue %u tag %u sector %lu: %s -> errno %d", qid(), request.tag, request.sector,
                 status_name(status), error);
}

u32 IoQueue::reap_locked_batches()
{
    u32 total = 0;
    while (true) {
        block::Request* done[REAP_BATCH];
        u16 statuses[REAP_BATCH];
        u32 count = 0;
        {
            SpinLockGuard guard(m_cq_lock);
            m_ring.process_completions(
                [&](const CompletionEntry& cqe) {
                    block::Request* request = accept_completion(cqe);
                    if (!request)
                        return;
                    done[count] = request;
                    statuses[count] = cqe.status_field();
                    count++;
                },
                REAP_BATCH);
        }
        for (u32 i = 0; i < count; i++) {
            const int error = status_to_errno(statuses[i]);
            if (error)
                report_error(*done[i], statuses[i], error);
            // Test-only fault injection: asked only while armed (one load).
            if (m_controller.dropping_completions() && m_controller.drop_completion_for_test()) [[unlikely]] {
                log_warn("nvme", "queue %u tag %u: completion dropped (nvme.drop_cqe fault injection)", qid(),
                         done[i]->tag);
                // As if never reaped: still in the ring for a reset to requeue,
                // still Issued, so only the timeout path can end it now.
                done[i]->driver_data_as<RequestData>().in_ring = true;
                continue;
            }
            free_prps(done[i]->driver_data_as<RequestData>());
            block::complete_request(*done[i], error);
        }
        total += count;
        if (count < REAP_BATCH)
            return total;
    }
}

bool IoQueue::submit_raw(const SubmissionEntry& entry)
{
    SpinLockGuard guard(m_sq_lock);
    if (m_ring.is_full())
        return false;
    m_ring.submit(entry);
    return true;
}

u32 IoQueue::reap_raw(void (*on_completion)(const CompletionEntry&, void*), void* context)
{
    SpinLockGuard guard(m_cq_lock);
    return m_ring.process_completions([&](const CompletionEntry& cqe) { on_completion(cqe, context); });
}

void IoQueue::requeue_all_and_reset()
{
    // Like Linux's synchronize_irq: after this no reap() is in progress and
    // none will start, so no request can be completed and requeued at once.
    m_stopped.store(true, MemoryOrder::SeqCst);
    while (m_reapers.load(MemoryOrder::SeqCst))
        x86::pause();
    // What the controller finished before it was disabled is done: end it.
    reap_locked_batches();
    if (m_hw) {
        // Under the submission lock, after m_stopped: every request issue()
        // put in the ring is marked here, and no more can be added. (One that
        // blk-mq marked Issued but had not handed over yet gets Busy and
        // stays with blk-mq.) Requeue outside the lock: completing one may
        // submit again.
        {
            SpinLockGuard guard(m_sq_lock);
            for (u32 tag = 0; tag < m_hw->depth(); tag++) {
                auto& data = m_hw->request(tag).driver_data_as<RequestData>();
                data.requeue_pending = data.in_ring;
                data.in_ring = false;
            }
        }
        for (u32 tag = 0; tag < m_hw->depth(); tag++) {
            block::Request& request = m_hw->request(tag);
            auto& data = request.driver_data_as<RequestData>();
            if (!data.requeue_pending)
                continue;
            data.requeue_pending = false;
            free_prps(data);
            if (request.retries >= MAX_RESET_RETRIES) {
                log_warn("nvme", "queue %u cid %u: given up after %u resets", qid(), tag, request.retries);
                block::complete_request(request, EIO);
            } else {
                requeued.fetch_add(1, MemoryOrder::Relaxed);
                block::requeue_request(request);
            }
        }
    }
    SpinLockGuard sq_guard(m_sq_lock);
    SpinLockGuard cq_guard(m_cq_lock);
    m_ring.reset();
}

void IoQueue::enable_shadow_doorbells(ShadowDoorbell sq, ShadowDoorbell cq)
{
    SpinLockGuard sq_guard(m_sq_lock);
    SpinLockGuard cq_guard(m_cq_lock);
    m_ring.enable_shadow_doorbells(sq, cq);
}

} // namespace nvme
