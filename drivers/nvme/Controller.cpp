#include "drivers/nvme/Controller.h"

#include "arch/x86_64/Cpu.h"
#include "arch/x86_64/PerCpu.h"
#include "drivers/nvme/InterruptQueue.h"
#include "drivers/nvme/PollQueue.h"
#include "drivers/nvme/Status.h"
#include "drivers/pci/DmaPages.h"
#include "kernel/block/Bench.h"
#include "kernel/block/BlkMq.h"
#include "kernel/block/DeviceRemoval.h"
#include "arch/x86_64/boot/BootInfo.h"
#include "kernel/lib/Format.h"
#include "kernel/lib/String.h"
#include "kernel/log/Log.h"
#include "kernel/mm/Heap.h"
#include "kernel/time/Clock.h"

namespace nvme {

namespace {

Controller* g_controllers[MAX_CONTROLLERS];
usize g_controller_count = 0;

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

usize Controller::count() { return g_controller_count; }

bool Controller::drop_completion_for_test()
{
    if (!m_drop_cqe_at)
        return false;
    return __atomic_add_fetch(&m_cqes_reaped, 1, __ATOMIC_RELAXED) == m_drop_cqe_at;
}
Controller* Controller::at(usize index) { return index < g_controller_count ? g_controllers[index] : nullptr; }

// --- register-level bring-up (§7.6.1) -------------------------------------------------

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
    return wait_ready(false);
}

Result<void> Controller::enable()
{
    const u32 cc = cc::EN | cc::CSS_NVM | (0u << cc::MPS_SHIFT) | cc::AMS_ROUND_ROBIN |
                   (SQE_SIZE_SHIFT << cc::IOSQES_SHIFT) | (CQE_SIZE_SHIFT << cc::IOCQES_SHIFT);
    write32(reg::CC, cc);
    return wait_ready(true);
}

Result<void> Controller::setup_admin_queue()
{
    if (!m_admin) {
        m_admin_sq = alloc_dma_pages(0);
        m_admin_cq = alloc_dma_pages(0);
        if (!m_admin_sq || !m_admin_cq)
            return Error::from_errno(ENOMEM);
        const u32 stride = m_cap.doorbell_stride_shift();
        m_admin = new Queue(ADMIN_QUEUE_ID, ADMIN_QUEUE_DEPTH, static_cast<SubmissionEntry*>(m_admin_sq.virt),
                            static_cast<CompletionEntry*>(m_admin_cq.virt),
                            doorbell(sq_tail_doorbell_offset(ADMIN_QUEUE_ID, stride)),
                            doorbell(cq_head_doorbell_offset(ADMIN_QUEUE_ID, stride)));
        if (!m_admin)
            return Error::from_errno(ENOMEM);
    } else {
        m_admin->reset();
    }
    write32(reg::AQA, aqa_value(ADMIN_QUEUE_DEPTH, ADMIN_QUEUE_DEPTH));
    write64(reg::ASQ, m_admin_sq.phys);
    write64(reg::ACQ, m_admin_cq.phys);
    return {};
}

Result<CompletionEntry> Controller::admin(SubmissionEntry command, u64 timeout_ns)
{
    // One admin command at a time; callers are boot, reset and timeout paths.
    while (__atomic_exchange_n(&m_admin_busy, true, __ATOMIC_ACQUIRE))
        x86::pause();
    command.command_id = m_admin_next_cid++;
    m_admin->submit(command);
    m_admin->commit();
    const u64 deadline = clock_ns() + timeout_ns;
    bool found = false;
    CompletionEntry result {};
    while (!found) {
        m_admin->process_completions([&](const CompletionEntry& cqe) {
            if (cqe.command_id == command.command_id) {
                result = cqe;
                found = true;
            }
        });
        if (!found && clock_ns() > deadline)
            break;
        if (!found)
            x86::pause();
    }
    __atomic_store_n(&m_admin_busy, false, __ATOMIC_RELEASE);
    if (!found) {
        log_error("nvme", "%s: admin opcode 0x%x timed out", m_name, command.opcode);
        return Error::from_errno(ETIMEDOUT);
    }
    const u16 status = result.status_field();
    if (status != status::SUCCESS) {
        log_warn("nvme", "%s: admin opcode 0x%x failed: %s", m_name, command.opcode, status_name(status));
        return Error::from_errno(status_to_errno(status));
    }
    return result;
}

// --- identify and queues --------------------------------------------------------------

Result<void> Controller::identify()
{
    DmaBuffer buffer = alloc_dma_pages(0);
    if (!buffer)
        return Error::from_errno(ENOMEM);
    SubmissionEntry cmd {};
    cmd.opcode = admin::IDENTIFY;
    cmd.prp1 = buffer.phys;
    cmd.cdw10 = cns::CONTROLLER;
    auto result = admin(cmd);
    if (result.is_error()) {
        free_dma_pages(buffer, 0);
        return result.error();
    }
    const auto& id = *static_cast<const IdentifyController*>(buffer.virt);
    copy_trimmed(m_model, id.mn, sizeof(id.mn));
    copy_trimmed(m_serial, id.sn, sizeof(id.sn));
    // §5.15.2.1: MDTS in units of the minimum memory page size, as a power of two.
    m_max_transfer_bytes = DEFAULT_MAX_TRANSFER_BYTES;
    if (id.mdts)
        m_max_transfer_bytes = min<u64>(DEFAULT_MAX_TRANSFER_BYTES, (u64(1) << id.mdts) << m_cap.min_page_shift());
    m_volatile_write_cache = id.vwc & VWC_PRESENT;
    m_oacs = id.oacs;
    m_namespace_id_count = id.nn;
    free_dma_pages(buffer, 0);
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

    const u32 total = m_io_queue_count + m_poll_queue_count;
    for (u32 i = 0; i < total; i++) {
        const bool polled = i >= m_io_queue_count;
        const u16 qid = static_cast<u16>(i + 1);
        IoQueue* queue = TRY(IoQueue::create(*this, qid, m_io_queue_depth, polled));
        m_io_queues[i] = queue;
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
        m_shadow_doorbells = alloc_dma_pages(0);
        m_event_indexes = alloc_dma_pages(0);
        if (!m_shadow_doorbells || !m_event_indexes)
            return Error::from_errno(ENOMEM);
    }
    memset(m_shadow_doorbells.virt, 0, PAGE_SIZE);
    memset(m_event_indexes.virt, 0, PAGE_SIZE);
    // §5.8: PRP1 = shadow doorbells, PRP2 = event indexes, one page each,
    // laid out like the doorbell registers (same stride).
    SubmissionEntry cmd {};
    cmd.opcode = admin::DOORBELL_BUFFER_CONFIG;
    cmd.prp1 = m_shadow_doorbells.phys;
    cmd.prp2 = m_event_indexes.phys;
    auto result = admin(cmd);
    if (result.is_error()) {
        log_warn("nvme", "%s: Doorbell Buffer Config failed; MMIO doorbells only", m_name);
        return {};
    }
    m_shadow_enabled = true;
    const u32 stride_words = 1u << m_cap.doorbell_stride_shift();
    auto* shadow = static_cast<volatile u32*>(m_shadow_doorbells.virt);
    auto* event = static_cast<volatile u32*>(m_event_indexes.virt);
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
        hw.driver_data = m_io_queues[i];
        m_io_queues[i]->attach(hw);
    }
    return {};
}

Result<void> Controller::scan_namespaces()
{
    DmaBuffer list_buffer = alloc_dma_pages(0);
    DmaBuffer ns_buffer = alloc_dma_pages(0);
    if (!list_buffer || !ns_buffer)
        return Error::from_errno(ENOMEM);
    SubmissionEntry cmd {};
    cmd.opcode = admin::IDENTIFY;
    cmd.prp1 = list_buffer.phys;
    cmd.cdw10 = cns::ACTIVE_NAMESPACE_LIST;
    cmd.nsid = 0; // NSIDs greater than 0
    TRY(admin(cmd));
    const auto& list = *static_cast<const ActiveNamespaceList*>(list_buffer.virt);
    for (u32 i = 0; i < 1024 && list.nsid[i] && m_namespace_count < MAX_NAMESPACES; i++) {
        const u32 nsid = list.nsid[i];
        SubmissionEntry id_cmd {};
        id_cmd.opcode = admin::IDENTIFY;
        id_cmd.nsid = nsid;
        id_cmd.prp1 = ns_buffer.phys;
        id_cmd.cdw10 = cns::NAMESPACE;
        if (admin(id_cmd).is_error())
            continue;
        const auto& id = *static_cast<const IdentifyNamespace*>(ns_buffer.virt);
        const LbaFormat& format = id.lbaf[id.flbas & 0xf];
        if (id.nsze == 0 || format.lbads < 9 || format.lbads > 16 || format.ms != 0) {
            log_warn("nvme", "%s: namespace %u unusable (size %lu, lbads %u, metadata %u)", m_name, nsid, id.nsze,
                     format.lbads, format.ms);
            continue;
        }
        Namespace& ns = m_namespaces[m_namespace_count];
        ns.nsid = nsid;
        ns.lba_shift = format.lbads;
        ns.lba_count = id.nsze;

        block::DeviceInfo info;
        format_string(info.name, sizeof(info.name), "%sn%u", m_name, nsid);
        info.major = block::MAJOR_BLKEXT;
        info.minor = m_index * MAX_NAMESPACES + m_namespace_count;
        info.capacity_sectors = ns.lba_count << (ns.lba_shift - block::SECTOR_SHIFT);
        block::QueueLimits& limits = info.limits;
        limits.logical_block_size = 1u << ns.lba_shift;
        // NPWG (§5.15.2.2) is the preferred write granularity when reported.
        limits.physical_block_size = (id.nsfeat & (1u << 4)) ? (u32(id.npwg) + 1) << ns.lba_shift
                                                             : limits.logical_block_size;
        limits.max_hw_sectors = m_max_transfer_bytes >> block::SECTOR_SHIFT;
        limits.max_segments = static_cast<u16>(m_max_transfer_bytes / PAGE_SIZE + 1);
        limits.max_segment_size = m_max_transfer_bytes;
        limits.virt_boundary_mask = PAGE_SIZE - 1; // PRPs (§4.3)
        limits.dma_alignment_mask = 3;             // PRP1 dword alignment
        limits.write_cache = m_volatile_write_cache;
        limits.fua = true;
        ns.device = TRY(block::BlockDevice::create(info, *m_tag_set, &ns));
        TRY(block::register_device(*ns.device));
        m_namespace_count++;
    }
    free_dma_pages(list_buffer, 0);
    free_dma_pages(ns_buffer, 0);
    return {};
}

Result<Controller*> Controller::create(pci::Device& pci_device)
{
    if (g_controller_count == MAX_CONTROLLERS)
        return Error::from_errno(ENOSPC);
    auto* c = new Controller(pci_device);
    if (!c)
        return Error::from_errno(ENOMEM);
    // The lowest free number: a controller bound again keeps its name.
    u32 index = 0;
    for (bool taken = true; taken; index += taken) {
        taken = false;
        for (usize i = 0; i < g_controller_count; i++)
            taken |= g_controllers[i]->m_index == index;
    }
    c->m_index = index;
    c->m_drop_cqe_at = boot_info().command_line.get_u64("nvme.drop_cqe", 0);
    c->m_fail_reset = boot_info().command_line.has("nvme.fail_reset");
    format_string(c->m_name, sizeof(c->m_name), "nvme%u", c->m_index);

    pci_device.enable_memory_and_bus_master();
    c->m_regs = TRY(pci_device.map_bar(0));
    c->m_cap = CapabilityReg(c->read64(reg::CAP));
    c->m_version = c->read32(reg::VS);
    if (!c->m_cap.nvm_command_set() || c->m_cap.min_page_shift() > PAGE_SHIFT) {
        log_error("nvme", "%s: unsupported controller (CAP 0x%lx)", c->m_name, c->m_cap.raw());
        return Error::from_errno(ENODEV);
    }
    TRY(c->disable());
    TRY(c->setup_admin_queue());
    TRY(c->enable());
    TRY(c->identify());
    TRY(c->create_io_queues());
    TRY(c->setup_shadow_doorbells());
    TRY(c->create_tag_set());
    g_controllers[g_controller_count++] = c;
    TRY(c->scan_namespaces());
    c->print_summary();
    return c;
}

void Controller::print_summary()
{
    log_info("nvme", "%s: %s (serial %s), NVMe %u.%u, %u namespace(s), max transfer %u KiB, %s write cache%s",
             m_name, m_model, m_serial, m_version >> 16, (m_version >> 8) & 0xff, m_namespace_count,
             m_max_transfer_bytes / 1024, m_volatile_write_cache ? "volatile" : "no",
             m_shadow_enabled ? ", shadow doorbells" : "");
    log_info("nvme", "%s: %u I/O queues + %u polled%s, depth %u, doorbell stride %u", m_name, m_io_queue_count,
             m_poll_queue_count, m_raw_queue ? " + 1 raw" : "", m_io_queue_depth, 4u << m_cap.doorbell_stride_shift());
    for (u32 i = 0; i < m_io_queue_count; i++) {
        IoQueue& q = *m_io_queues[i];
        log_info("nvme", "%s: queue %u -> MSI-X entry %u, cpu %u vector 0x%x", m_name, q.qid(), q.msix_entry, q.cpu,
                 q.vector);
    }
    if (m_tag_set)
        m_tag_set->print_queue_map();
}

// --- the block driver ----------------------------------------------------------------

block::QueueStatus Controller::queue_request(block::HwQueue& hw, block::Request& request, bool last)
{
    if (__atomic_load_n(&m_removing, __ATOMIC_ACQUIRE) || __atomic_load_n(&m_dead, __ATOMIC_ACQUIRE)) {
        block::complete_request(request, EIO); // the controller is disabled
        return block::QueueStatus::Ok;
    }
    if (__atomic_load_n(&m_resetting, __ATOMIC_ACQUIRE))
        return block::QueueStatus::Busy;
    return static_cast<IoQueue*>(hw.driver_data)->issue(request, last);
}

void Controller::commit(block::HwQueue& hw) { static_cast<IoQueue*>(hw.driver_data)->commit(); }

u32 Controller::poll(block::HwQueue& hw) { return poll_queue(*static_cast<IoQueue*>(hw.driver_data)); }

block::TimeoutAction Controller::timeout(block::Request& request)
{
    auto& data = request.driver_data_as<RequestData>();
    IoQueue& queue = *static_cast<IoQueue*>(request.hw_queue->driver_data);
    // It may simply have completed without an interrupt we noticed, here or
    // on the queue's own CPU a moment ago: then its tag may already carry a
    // new command, which must not be aborted.
    queue.reap();
    if (__atomic_load_n(&request.state, __ATOMIC_ACQUIRE) != block::RequestState::Issued)
        return block::TimeoutAction::Handled;
    if (!data.aborted) {
        // First strike: Abort (§5.1). The command then completes normally
        // with "abort requested" (or on its own) through the queue.
        data.aborted = true;
        m_aborts++;
        SubmissionEntry cmd {};
        cmd.opcode = admin::ABORT;
        cmd.cdw10 = (u32(request.tag) << 16) | queue.qid();
        auto result = admin(cmd, 1'000'000'000ul);
        log_warn("nvme", "%s: queue %u cid %u timed out; abort %s", m_name, queue.qid(), request.tag,
                 result.is_error() ? "failed" : (result.value().result & 1) ? "not performed" : "sent");
        if (!result.is_error() && !(result.value().result & 1))
            return block::TimeoutAction::ResetTimer;
    }
    // Second strike (or the abort did not take): reset the controller and
    // issue everything in flight again.
    log_warn("nvme", "%s: resetting controller", m_name);
    if (auto reset_result = reset(); reset_result.is_error()) {
        log_error("nvme", "%s: reset failed (errno %d); controller dead, its I/O fails with EIO", m_name,
                  reset_result.error().code());
        fail_controller();
    }
    return block::TimeoutAction::Handled;
}

// Linux's nvme_dev_disable + marking the namespaces dead: nothing waits
// forever on a controller that will not come back.
void Controller::fail_controller()
{
    // No more DMA into buffers that are about to be handed back.
    m_pci.disable_bus_master();
    for (u32 i = 0; i < m_io_queue_count + m_poll_queue_count; i++)
        m_io_queues[i]->requeue_all_and_reset();
    if (m_raw_queue)
        m_raw_queue->requeue_all_and_reset();
    __atomic_store_n(&m_dead, true, __ATOMIC_RELEASE);
    __atomic_store_n(&m_resetting, false, __ATOMIC_RELEASE);
    // The requeued requests, and everything after them, reach queue_request
    // and end there with EIO.
    m_tag_set->kick_all();
}

Result<void> Controller::reset()
{
    __atomic_store_n(&m_resetting, true, __ATOMIC_RELEASE);
    m_resets++;
    TRY(disable());
    // The controller forgot every queue: hand in-flight requests back.
    for (u32 i = 0; i < m_io_queue_count + m_poll_queue_count; i++)
        m_io_queues[i]->requeue_all_and_reset();
    if (m_raw_queue)
        m_raw_queue->requeue_all_and_reset();
    if (m_fail_reset)
        return Error::from_errno(ETIMEDOUT); // as if CSTS.RDY never came back
    TRY(setup_admin_queue());
    TRY(enable());
    TRY(negotiate_queue_count(m_io_queue_count + m_poll_queue_count + (m_raw_queue ? 1 : 0)));
    for (u32 i = 0; i < m_io_queue_count + m_poll_queue_count; i++)
        TRY(create_queue_pair(*m_io_queues[i], !m_io_queues[i]->is_polled()));
    if (m_raw_queue)
        TRY(create_queue_pair(*m_raw_queue, false));
    if (m_shadow_enabled)
        TRY(setup_shadow_doorbells());
    for (u32 i = 0; i < m_io_queue_count + m_poll_queue_count; i++)
        m_io_queues[i]->resume();
    if (m_raw_queue)
        m_raw_queue->resume();
    __atomic_store_n(&m_resetting, false, __ATOMIC_RELEASE);
    m_tag_set->kick_all();
    return {};
}

void Controller::shutdown()
{
    // §7.6.2: normal shutdown notification, then wait for SHST = complete.
    write32(reg::CC, (read32(reg::CC) & ~cc::SHN_MASK) | cc::SHN_NORMAL);
    const u64 deadline = clock_ns() + 5'000'000'000ul;
    while ((read32(reg::CSTS) & csts::SHST_MASK) != csts::SHST_COMPLETE) {
        if (clock_ns() > deadline) {
            log_warn("nvme", "%s: shutdown did not complete", m_name);
            return;
        }
        x86::pause();
    }
    log_info("nvme", "%s: shutdown complete", m_name);
}

// --- removal ------------------------------------------------------------------------

namespace {
// How long remove() waits for requests in flight before it disables the
// controller and fails them: one command timeout.
constexpr u64 REMOVE_DRAIN_NS_DEFAULT = 30'000'000'000ul;
} // namespace

Result<void> Controller::remove()
{
    // Every namespace first, or none: a busy one leaves the controller as it was.
    for (u32 i = 0; i < m_namespace_count; i++) {
        auto begun = block::begin_removal(*m_namespaces[i].device);
        if (begun.is_error()) {
            for (u32 j = 0; j < i; j++)
                block::cancel_removal(*m_namespaces[j].device);
            log_warn("nvme", "%s: remove refused: %s busy (errno %d)", m_name, m_namespaces[i].device->name(),
                     begun.error().code());
            return begun.error();
        }
    }
    const u64 drain_ns = m_tag_set ? m_tag_set->config().timeout_ns : REMOVE_DRAIN_NS_DEFAULT;
    bool idle = true;
    for (u32 i = 0; i < m_namespace_count; i++)
        idle &= block::wait_idle(*m_namespaces[i].device, drain_ns);
    if (!idle) {
        // §7.6.2 would rather shut down cleanly, but the controller does not
        // answer: disabling it (CC.EN = 0) ends every command (§7.3.2), so no
        // DMA lands in memory we are about to free; then fail the requests.
        __atomic_store_n(&m_removing, true, __ATOMIC_RELEASE);
        (void)disable();
        block::fail_requests(*m_tag_set, EIO);
        for (u32 i = 0; i < m_namespace_count; i++)
            (void)block::wait_idle(*m_namespaces[i].device, drain_ns);
    }
    for (u32 i = 0; i < m_namespace_count; i++) {
        block::finish_removal(*m_namespaces[i].device);
        m_namespaces[i].device = nullptr;
    }
    m_namespace_count = 0;
    block::TagSet::destroy(m_tag_set);
    m_tag_set = nullptr;

    if (idle)
        delete_io_queues();
    shutdown();
    (void)disable();
    release_resources();
    // Out of the registry (the name and index can be taken again).
    for (usize i = 0; i < g_controller_count; i++) {
        if (g_controllers[i] != this)
            continue;
        for (usize j = i; j + 1 < g_controller_count; j++)
            g_controllers[j] = g_controllers[j + 1];
        g_controllers[--g_controller_count] = nullptr;
        break;
    }
    log_info("nvme", "%s: removed", m_name);
    delete this;
    return {};
}

void Controller::delete_io_queues()
{
    // §5.6 / §5.5: a submission queue is deleted before the completion queue
    // it posts to (deleting a CQ with an SQ still on it is Invalid Queue
    // Deletion). The queues are empty: every request has completed.
    auto delete_pair = [&](IoQueue& queue) {
        SubmissionEntry sq {};
        sq.opcode = admin::DELETE_IO_SQ;
        sq.cdw10 = queue.qid();
        SubmissionEntry cq {};
        cq.opcode = admin::DELETE_IO_CQ;
        cq.cdw10 = queue.qid();
        if (admin(sq).is_error() || admin(cq).is_error())
            log_warn("nvme", "%s: deleting queue %u failed; the shutdown that follows drops it", m_name, queue.qid());
    };
    if (m_raw_queue)
        delete_pair(*m_raw_queue);
    for (u32 i = m_io_queue_count + m_poll_queue_count; i-- > 0;)
        delete_pair(*m_io_queues[i]);
}

void Controller::release_resources()
{
    // MSI-X: each entry masked and its CPU vector returned (free_vector waits
    // for a handler still running), then MSI-X off; no more DMA after that.
    for (u32 i = 0; i < m_io_queue_count; i++)
        m_pci.release_msix_vector(m_io_queues[i]->msix_entry);
    m_pci.disable_msix();
    m_pci.disable_bus_master();
    for (u32 i = 0; i < m_io_queue_count + m_poll_queue_count; i++) {
        delete m_io_queues[i];
        m_io_queues[i] = nullptr;
    }
    m_io_queue_count = m_poll_queue_count = 0;
    delete m_raw_queue;
    m_raw_queue = nullptr;
    delete m_admin;
    m_admin = nullptr;
    free_dma_pages(m_admin_sq, 0);
    free_dma_pages(m_admin_cq, 0);
    if (m_shadow_doorbells) {
        free_dma_pages(m_shadow_doorbells, 0);
        free_dma_pages(m_event_indexes, 0);
    }
}

block::DriverQueueCounters Controller::queue_counters(block::HwQueue* hw)
{
    IoQueue* queue = hw ? static_cast<IoQueue*>(hw->driver_data) : m_raw_queue;
    if (!queue)
        return {};
    const Queue::Counters& ring = queue->ring().counters();
    return {true, __atomic_load_n(&queue->interrupts, __ATOMIC_RELAXED), ring.sq_doorbell_writes,
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
    IoQueue* queue = m_raw_queue;
    auto* ns = static_cast<Namespace*>(device.driver_data());
    if (!queue || !ns)
        return false;
    const u32 depth = min<u32>(p.queue_depth, queue->depth() - 1u);
    const unsigned order = p.block_bytes > PAGE_SIZE ? 64 - __builtin_clzl((p.block_bytes - 1) / PAGE_SIZE) : 0;
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

// --- the PCI driver -------------------------------------------------------------------

namespace {

// Any NVM Express controller: class 01h (storage), subclass 08h, prog-if 02h.
const pci::DeviceId g_ids[] = {
    {pci::ANY_ID, pci::ANY_ID, 0x010802, 0xffffff},
};

class NvmePciDriver final : public pci::Driver {
public:
    NvmePciDriver() : pci::Driver("nvme", g_ids, ARRAY_SIZE(g_ids)) { }

    Result<void> probe(pci::Device& device) override
    {
        Controller* controller = TRY(Controller::create(device));
        device.driver_data = controller;
        return {};
    }

    void shutdown(pci::Device& device) override
    {
        if (device.driver_data)
            static_cast<Controller*>(device.driver_data)->shutdown();
    }

    Result<void> remove(pci::Device& device) override
    {
        if (!device.driver_data)
            return {};
        TRY(static_cast<Controller*>(device.driver_data)->remove());
        device.driver_data = nullptr;
        return {};
    }
};

NvmePciDriver g_nvme_driver;
PCI_DRIVER(g_nvme_driver);

} // namespace

} // namespace nvme
