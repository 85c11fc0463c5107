// Taking an NVMe controller away (pci::unbind, as Linux's nvme_remove) and
// the power-off shutdown notification (§7.6.2).
#include "drivers/nvme/Controller.h"

#include "arch/x86_64/Cpu.h"
#include "kernel/block/DeviceRemoval.h"
#include "kernel/log/Log.h"
#include "kernel/time/Clock.h"

namespace nvme {

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
        m_removing.store(true, MemoryOrder::Release);
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
    m_tag_set = nullptr;

    if (idle)
        delete_io_queues();
    shutdown();
    (void)disable();
    log_info("nvme", "%s: removed", m_name);
    // Vectors, MSI-X, bus mastering, queues, DMA pages, the registry entry.
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

} // namespace nvme
