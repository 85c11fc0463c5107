// virtio-blk timeout recovery (defect: a timed-out request only logged, and
// a broken ring stranded every request in flight). Virtio has no abort, so
// as NVMe's controller reset and Linux's virtblk reset path: reset the whole
// device (§2.4: afterwards it uses no buffer and sends no notification), end
// what it had used before the reset, hand every other request back to blk-mq
// (EIO after too many resets), and bring the device up again (§3.1.1) with
// the features already negotiated and the same rings, emptied. If that
// fails, the disk is dead: every request ends with EIO.
#include "drivers/virtio/blk/VirtioBlk.h"

#include "drivers/virtio/DeviceStatus.h"
#include "kernel/block/BlkMq.h"
#include "kernel/block/Scheduler.h"
#include "kernel/log/Log.h"

namespace virtio::blk {

namespace {

constexpr const char* TAG = "virtio-blk";
// A request caught in this many resets fails with EIO (Linux nvme_max_retries).
constexpr u32 MAX_RESET_RETRIES = 5;

} // namespace

bool Disk::stalled_for_test(usize reaped)
{
    if (m_stalled.load(MemoryOrder::Acquire))
        return true;
    if (reaped && m_reaped_for_stall.add_fetch(reaped, MemoryOrder::Relaxed) >= m_stall_after) {
        log_warn(TAG, "%s: ring stalled after %lu completions (virtio_blk.stall_after fault injection)", m_name,
            m_stall_after);
        m_stalled.store(true, MemoryOrder::Release);
    }
    return false;
}

void Disk::reset_device()
{
    log_warn(TAG, "%s: resetting device", m_name);
    m_resetting.store(true, MemoryOrder::SeqCst);
    m_resets.fetch_add(1ul, MemoryOrder::Relaxed);
    if (m_transport->reset().is_error())
        log_warn(TAG, "%s: device reset did not complete", m_name);
    // The injected stall ends with the reset (one-shot).
    m_stall_after = 0;
    m_stalled.store(false, MemoryOrder::Release);

    // The handler returns at once while m_resetting; taking each queue's lock
    // once waits out a handler that was already reaping.
    block::RequestList stranded;
    u64 completed = 0;
    for (u32 i = 0; i < m_queue_count; i++) {
        Queue& q = m_queues[i];
        constexpr usize BATCH = 32;
        RequestQueue::Done done[BATCH];
        usize n;
        do {
            {
                SpinLockGuard guard(q.lock);
                n = q.requests->reap_batch(done, BATCH);
            }
            for (usize k = 0; k < n; k++)
                block::complete_request(*done[k].request, done[k].error);
            completed += n;
        } while (n == BATCH);
        SpinLockGuard guard(q.lock);
        while (void* token = q.ring->detach_unused())
            stranded.push_back(*static_cast<block::Request*>(token));
        q.ring->reinitialize();
    }
    if (m_raw_queue) {
        SpinLockGuard guard(m_raw_queue->lock);
        while (m_raw_queue->ring->detach_unused()) { } // the raw loop does not run (timeout() checked)
        m_raw_queue->ring->reinitialize();
    }

    auto up = reinitialize_device();
    if (up.is_error()) {
        log_error(TAG, "%s: reset failed (errno %d); disk dead, its I/O fails with EIO", m_name, up.error().code());
        fail_device();
    }
    u64 requeued = 0;
    while (block::Request* request = stranded.pop_front()) {
        if (up.is_error() || request->retries >= MAX_RESET_RETRIES) {
            block::complete_request(*request, EIO);
            continue;
        }
        requeued++;
        block::requeue_request(*request);
    }
    m_requeued.fetch_add(requeued, MemoryOrder::Relaxed);
    log_warn(TAG, "%s: reset: %lu requests had completed, %lu requeued", m_name, completed, requeued);
    m_resetting.store(false, MemoryOrder::SeqCst);
    m_tag_set->kick_all();
}

Result<void> Disk::reinitialize_device()
{
    PciTransport& t = *m_transport;
    t.add_status(STATUS_ACKNOWLEDGE);
    t.add_status(STATUS_DRIVER);
    const u64 features = TRY(t.negotiate(m_features));
    if (features != m_features)
        return Error::from_errno(EIO); // the device changed under us
    TRY(t.set_config_vector(0));
    for (u32 i = 0; i < m_queue_count; i++) {
        Queue& q = m_queues[i];
        SpinLockGuard guard(q.lock);
        q.notifier = TRY(t.enable_queue(q.index, *q.ring, q.msix_entry));
    }
    if (m_raw_queue) {
        SpinLockGuard guard(m_raw_queue->lock);
        m_raw_queue->notifier = TRY(t.enable_queue(m_raw_queue->index, *m_raw_queue->ring, pci::NO_VECTOR));
    }
    t.driver_ok();
    if (t.status() & STATUS_DEVICE_NEEDS_RESET)
        return Error::from_errno(EIO);
    return {};
}

void Disk::fail_device()
{
    if (m_transport)
        m_transport->fail();
    m_dead.store(true, MemoryOrder::Release);
}

} // namespace virtio::blk
