// NVMe error recovery, as Linux's nvme_timeout: a request that overran its
// deadline is aborted (§5.1); if that does not end it, the controller is
// reset and everything in flight is issued again; if the reset fails, the
// controller is declared dead and its I/O fails with EIO.
#include "drivers/nvme/Controller.h"

#include "drivers/nvme/CommandId.h"
#include "kernel/block/BlkMq.h"
#include "kernel/log/Log.h"

namespace nvme {

block::TimeoutAction Controller::timeout(block::Request& request, u32 generation)
{
    auto& data = request.driver_data_as<RequestData>();
    IoQueue& queue = *static_cast<IoQueue*>(request.hw_queue->driver_data);
    // It may simply have completed without an interrupt we noticed, here or
    // on the queue's own CPU a moment ago: then its tag may already carry a
    // new command, which must not be aborted.
    // The generation tells the issue that timed out from a later one that
    // reused the tag (defect: a timeout claimed for one command aborting the
    // next). The abort names the command id of the issue that timed out, so
    // even a reissue after this check is not the one the controller aborts.
    queue.reap();
    if (request.state.load(MemoryOrder::Acquire) != block::RequestState::Issued ||
        request.generation.load(MemoryOrder::Acquire) != generation)
        return block::TimeoutAction::Handled;
    const u16 command_id = make_command_id(request.tag, generation);
    if (!data.aborted) {
        // First strike: Abort (§5.1). The command then completes normally
        // with "abort requested" (or on its own) through the queue.
        data.aborted = true;
        m_aborts.fetch_add(1, MemoryOrder::Relaxed);
        SubmissionEntry cmd {};
        cmd.opcode = admin::ABORT;
        cmd.cdw10 = (u32(command_id) << 16) | queue.qid();
        auto result = admin(cmd, 1'000'000'000ul);
        log_warn("nvme", "%s: queue %u cid 0x%x timed out; abort %s", m_name, queue.qid(), command_id,
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
    m_dead.store(true, MemoryOrder::Release);
    m_resetting.store(false, MemoryOrder::Release);
    // The requeued requests, and everything after them, reach queue_request
    // and end there with EIO.
    m_tag_set->kick_all();
}

Result<void> Controller::reset()
{
    m_resetting.store(true, MemoryOrder::Release);
    m_resets.fetch_add(1, MemoryOrder::Relaxed);
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
    m_resetting.store(false, MemoryOrder::Release);
    m_tag_set->kick_all();
    return {};
}

} // namespace nvme
