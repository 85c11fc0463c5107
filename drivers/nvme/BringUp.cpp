// NVMe controller bring-up (1.4 §7.6.1): the registers (disable, admin
// queue, enable), Identify Controller, the I/O queue pairs with their MSI-X
// vectors, shadow doorbells (§5.8) and the blk-mq tag set over the queues.
// A controller reset (Recovery.cpp) runs the same steps again.
#include "drivers/nvme/Controller.h"

#include "arch/x86_64/Cpu.h"
#include "arch/x86_64/PerCpu.h"
#include "drivers/nvme/InterruptQueue.h"
#include "kernel/block/TagSet.h"
#include "arch/x86_64/boot/BootInfo.h"
#include "kernel/lib/Format.h"
#include "kernel/lib/String.h"
#include "kernel/log/Log.h"
#include "kernel/time/Clock.h"

namespace nvme {

namespace {

constexpr u64 NS_PER_MS = 1'000'000;
constexpr u32 MAX_IO_QUEUE_DEPTH = 1024;
// Largest transfer when MDTS says "no limit": what four PRP list pages cover.
constexpr u32 DEFAULT_MAX_TRANSFER_BYTES = 2 * MiB;

void copy_trimmed(char* out, const char* in, usize length)
{
    memcpy(out, in, length);
    out[length] = 0;
    for (isize i = static_cast<isize>(length) - 1; i >= 0 && (out[i] == ' ' || out[i] == 0); i--)
        out[i] = 0;
}

} // namespace

// --- registers (§7.6.1) ---------------------------------------------------------------

Result<void> Controller::wait_ready(bool ready)
{
    const u64 deadline = clock_ns() + max<u64>(m_cap.ready_timeout_ms(), 500) * NS_PER_MS;
    while (true) {
        const u32 csts = read32(reg::CSTS);
        if (csts == ~0u)
            return Error::from_errno(ENODEV); // surprise removal / dead link
        if (ready && (csts & csts::CFS))
            return Error::from_errno(EIO);
        if (static_cast<bool>(csts & csts::RDY) == ready)
            return {};
        if (clock_ns() > deadline)
            return Error::from_errno(ETIMEDOUT);
        x86::pause();
    }
}

Result<void> Controller::disable()
{
    const u32 cc = read32(reg::CC);
    // §3.1.5: clearing EN while RDY is still transitioning is undefined; let it settle.
    if ((cc & cc::EN) && !(read32(reg::CSTS) & csts::RDY))
        TRY(wait_ready(true));
    write32(reg::CC, cc & ~cc::EN);
    TRY(wait_ready(false));
    m_enabled = false;
    return {};
}

Result<void> Controller::enable()
{
    const u32 cc = cc::EN | cc::CSS_NVM | (0u << cc::MPS_SHIFT) | cc::AMS_ROUND_ROBIN |
                   (SQE_SIZE_SHIFT << cc::IOSQES_SHIFT) | (CQE_SIZE_SHIFT << cc::IOCQES_SHIFT);
    m_enabled = true; // from here the controller may DMA: teardown disables it
    write32(reg::CC, cc);
    return wait_ready(true);
}

Result<void> Controller::setup_admin_queue()
{
    if (!m_admin) {
        m_admin_sq = DmaPages::allocate(0);
        m_admin_cq = DmaPages::allocate(0);
        if (!m_admin_sq || !m_admin_cq)
            return Error::from_errno(ENOMEM);
        const u32 stride = m_cap.doorbell_stride_shift();
        volatile u32* sq_doorbell = TRY(doorbell_register(sq_tail_doorbell_offset(ADMIN_QUEUE_ID, stride)));
        volatile u32* cq_doorbell = TRY(doorbell_register(cq_head_doorbell_offset(ADMIN_QUEUE_ID, stride)));
        m_admin = TRY(adopt_own_or_enomem(new (nothrow) Queue(
            ADMIN_QUEUE_ID, ADMIN_QUEUE_DEPTH, static_cast<SubmissionEntry*>(m_admin_sq.virt()),
            static_cast<CompletionEntry*>(m_admin_cq.virt()), sq_doorbell, cq_doorbell)));
    } else {
        m_admin->reset();
    }
    write32(reg::AQA, aqa_value(ADMIN_QUEUE_DEPTH, ADMIN_QUEUE_DEPTH));
    write64(reg::ASQ, m_admin_sq.phys());
    write64(reg::ACQ, m_admin_cq.phys());
    return {};
}

// --- identify and queues --------------------------------------------------------------

Result<void> Controller::identify()
{
    DmaPages buffer = DmaPages::allocate(0);
    if (!buffer)
        return Error::from_errno(ENOMEM);
    SubmissionEntry cmd {};
    cmd.opcode = admin::IDENTIFY;
    cmd.prp1 = buffer.phys();
    cmd.cdw10 = cns::CONTROLLER;
    TRY(admin(cmd));
    const auto& id = *static_cast<const IdentifyController*>(buffer.virt());
    copy_trimmed(m_model, id.mn, sizeof(id.mn));
    copy_trimmed(m_serial, id.sn, sizeof(id.sn));
    // §5.15.2.1: MDTS in units of the minimum memory page size, as a power of two.
    m_max_transfer_bytes = DEFAULT_MAX_TRANSFER_BYTES;
    if (id.mdts)
        m_max_transfer_bytes = min<u64>(DEFAULT_MAX_TRANSFER_BYTES, (u64(1) << id.mdts) << m_cap.min_page_shift());
    m_volatile_write_cache = id.vwc & VWC_PRESENT;
    m_oacs = id.oacs;
    m_namespace_id_count = id.nn;
    return {};
}

Result<u32> Controller::negotiate_queue_count(u32 wanted)
{
    SubmissionEntry cmd {};
    cmd.opcode = admin::SET_FEATURES;
    cmd.cdw10 = feature::NUMBER_OF_QUEUES;
    // §5.21.1.7: NCQR in 31:16, NSQR in 15:0, both 0's based.
    cmd.cdw11 = ((wanted - 1) << 16) | (wanted - 1);
    auto cqe = TRY(admin(cmd));
    const u32 sq_granted = (cqe.result & 0xffff) + 1;
    const u32 cq_granted = (cqe.result >> 16) + 1;
    return min(wanted, min(sq_granted, cq_granted));
}

Result<void> Controller::create_queue_pair(IoQueue& queue, bool interrupts)
{
    // Completion queue first: the submission queue names it (§5.3, §5.4).
    SubmissionEntry cq {};
    cq.opcode = admin::CREATE_IO_CQ;
    cq.prp1 = queue.cq_phys();
    cq.cdw10 = (u32(queue.depth() - 1) << 16) | queue.qid();
    cq.cdw11 = CREATE_CQ_PHYS_CONTIG | (interrupts ? CREATE_CQ_IRQ_ENABLED | (queue.msix_entry << 16) : 0);
    TRY(admin(cq));
    SubmissionEntry sq {};
    sq.opcode = admin::CREATE_IO_SQ;
    sq.prp1 = queue.sq_phys();
    sq.cdw10 = (u32(queue.depth() - 1) << 16) | queue.qid();
    sq.cdw11 = (u32(queue.qid()) << 16) | CREATE_SQ_PHYS_CONTIG;
    TRY(admin(sq));
    return {};
}

Result<void> Controller::create_io_queues()
{
    const u32 cpus = max<u32>(1, percpu::possible_count());
    const u32 wanted_poll = static_cast<u32>(boot_info().command_line.get_u64("nvme.poll_queues", 1));
    const u32 msix = m_pci.msix_vector_count();
    // Entry 0 stays with the admin queue (polled here); I/O queue i uses entry i.
    u32 wanted_interrupt = min(cpus, msix > 1 ? msix - 1 : 0u);
    if (wanted_interrupt == 0)
        return Error::from_errno(ENODEV); // MSI-X is required
    const u32 wanted = min<u32>(MAX_IO_QUEUES - 1, wanted_interrupt + wanted_poll + 1 /* raw */);
    const u32 granted = TRY(negotiate_queue_count(wanted));
    m_io_queue_count = min(wanted_interrupt, granted);
    const u32 left = granted - m_io_queue_count;
    m_poll_queue_count = min(wanted_poll, left);
    const bool have_raw = left > m_poll_queue_count;

    m_io_queue_depth = static_cast<u16>(min<u32>(m_cap.max_queue_entries(), MAX_IO_QUEUE_DEPTH));
    TRY(m_pci.enable_msix());
    m_msix_enabled = true;

    const u32 total = m_io_queue_count + m_poll_queue_count;
    for (u32 i = 0; i < total; i++) {
        const bool polled = i >= m_io_queue_count;
        const u16 qid = static_cast<u16>(i + 1);
        m_io_queues[i] = TRY(IoQueue::create(*this, qid, m_io_queue_depth, polled));
        IoQueue* queue = m_io_queues[i].ptr();
        if (!polled) {
            // One vector per queue, queue i on CPU i.
            queue->msix_entry = qid;
            queue->cpu = i % cpus;
            format_string(queue->vector_name, sizeof(queue->vector_name), "%sq%u", m_name, qid);
            queue->vector
                = TRY(m_pci.bind_msix_vector(qid, queue->cpu, interrupt_queue_handler, queue, queue->vector_name));
        }
        TRY(create_queue_pair(*queue, !polled));
    }
    if (have_raw) {
        const u16 qid = static_cast<u16>(total + 1);
        m_raw_queue = TRY(IoQueue::create(*this, qid, m_io_queue_depth, true));
        TRY(create_queue_pair(*m_raw_queue, false));
    }
    return {};
}

Result<void> Controller::setup_shadow_doorbells()
{
    if (!(m_oacs & OACS_DOORBELL_BUFFER_CONFIG))
        return {};
    if (!m_shadow_doorbells) {
        m_shadow_doorbells = DmaPages::allocate(0);
        m_event_indexes = DmaPages::allocate(0);
        if (!m_shadow_doorbells || !m_event_indexes)
            return Error::from_errno(ENOMEM);
    }
    memset(m_shadow_doorbells.virt(), 0, PAGE_SIZE);
    memset(m_event_indexes.virt(), 0, PAGE_SIZE);
    // §5.8: PRP1 = shadow doorbells, PRP2 = event indexes, one page each,
    // laid out like the doorbell registers (same stride).
    SubmissionEntry cmd {};
    cmd.opcode = admin::DOORBELL_BUFFER_CONFIG;
    cmd.prp1 = m_shadow_doorbells.phys();
    cmd.prp2 = m_event_indexes.phys();
    auto result = admin(cmd);
    if (result.is_error()) {
        log_warn("nvme", "%s: Doorbell Buffer Config failed; MMIO doorbells only", m_name);
        return {};
    }
    m_shadow_enabled = true;
    const u32 stride_words = 1u << m_cap.doorbell_stride_shift();
    auto* shadow = static_cast<volatile u32*>(m_shadow_doorbells.virt());
    auto* event = static_cast<volatile u32*>(m_event_indexes.virt());
    auto attach = [&](IoQueue& q) {
        const u32 sq_index = 2u * q.qid() * stride_words;
        const u32 cq_index = (2u * q.qid() + 1) * stride_words;
        q.enable_shadow_doorbells({&shadow[sq_index], &event[sq_index]}, {&shadow[cq_index], &event[cq_index]});
    };
    for (u32 i = 0; i < m_io_queue_count + m_poll_queue_count; i++)
        attach(*m_io_queues[i]);
    if (m_raw_queue)
        attach(*m_raw_queue);
    return {};
}

Result<void> Controller::create_tag_set()
{
    block::TagSetConfig config;
    config.name = m_name;
    config.driver = this;
    config.bench = this;
    config.driver_data = this;
    config.interrupt_queues = m_io_queue_count;
    config.poll_queues = m_poll_queue_count;
    // A ring of N slots holds N - 1 commands (§4.1.2).
    config.queue_depth = min<u32>(block::MAX_TAGS, m_io_queue_depth - 1u);
    config.driver_data_size = sizeof(RequestData);
    config.timeout_ns = boot_info().command_line.get_u64("nvme.timeout_ms", 30'000) * NS_PER_MS;
    m_tag_set = TRY(block::TagSet::create(config));
    for (u32 i = 0; i < m_io_queue_count + m_poll_queue_count; i++) {
        block::HwQueue& hw = m_tag_set->hw_queue(i);
        hw.driver_data = m_io_queues[i].ptr();
        m_io_queues[i]->attach(hw);
    }
    return {};
}

} // namespace nvme
