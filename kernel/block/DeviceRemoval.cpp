// Removing a block device: see DeviceRemoval.h for the order of the steps.
#include "kernel/block/DeviceRemoval.h"

#include "kernel/block/BlkMq.h"
#include "kernel/lib/Atomic.h"
#include "kernel/log/Log.h"
#include "kernel/sched/Scheduler.h"
#include "kernel/time/Clock.h"

namespace block {

namespace {

constexpr usize MAX_LISTENERS = 4;
DeviceListener g_listeners[MAX_LISTENERS];
usize g_listener_count = 0;

// How often wait_idle looks at the usage count: short against a request's
// service time under TCG, long enough not to spin.
constexpr u64 IDLE_POLL_NS = 1'000'000;

} // namespace

void add_device_listener(const DeviceListener& listener)
{
    if (g_listener_count < MAX_LISTENERS)
        g_listeners[g_listener_count++] = listener;
}

void notify_device_added(BlockDevice& device)
{
    for (usize i = 0; i < g_listener_count; i++)
        if (g_listeners[i].added)
            g_listeners[i].added(device);
}


Result<void> BlockDevice::claim()
{
    SpinLockGuard guard(m_lifetime_lock);
    if (m_dying.load(MemoryOrder::Relaxed))
        return Error::from_errno(ENODEV);
    m_holders.fetch_add(1, MemoryOrder::Relaxed);
    return {};
}

void BlockDevice::unclaim()
{
    SpinLockGuard guard(m_lifetime_lock);
    m_holders.fetch_sub(1, MemoryOrder::Relaxed);
}

bool BlockDevice::try_enter()
{
    // Count first, then look: begin_removal sets m_dying, then waits for the
    // count; a full barrier on both sides means either we see m_dying or the
    // remover sees our reference.
    m_usage.fetch_add(1, MemoryOrder::SeqCst);
    if (m_dying.load(MemoryOrder::SeqCst)) {
        exit();
        return false;
    }
    return true;
}

Result<void> begin_removal(BlockDevice& device)
{
    {
        SpinLockGuard guard(device.m_lifetime_lock);
        if (device.m_dying.load(MemoryOrder::Relaxed))
            return Error::from_errno(ENODEV);
        if (device.m_holders.load(MemoryOrder::Relaxed))
            return Error::from_errno(EBUSY);
    }
    // Listeners first, while I/O still flows: devfs writes back the
    // device's dirty cached pages before it drops them.
    for (usize i = 0; i < g_listener_count; i++) {
        if (!g_listeners[i].removing)
            continue;
        auto result = g_listeners[i].removing(device);
        if (result.is_error()) {
            // Re-attach the listeners that had let go, newest first.
            for (usize j = i; j-- > 0;)
                if (g_listeners[j].removal_cancelled)
                    g_listeners[j].removal_cancelled(device);
            return result.error();
        }
    }
    {
        SpinLockGuard guard(device.m_lifetime_lock);
        if (!device.m_holders.load(MemoryOrder::Relaxed)) {
            device.m_dying.store(true, MemoryOrder::SeqCst);
            log_info("block", "%s: removal begun: new I/O fails with ENODEV", device.name());
            return {};
        }
    }
    // A filesystem was mounted meanwhile.
    for (usize j = g_listener_count; j-- > 0;)
        if (g_listeners[j].removal_cancelled)
            g_listeners[j].removal_cancelled(device);
    return Error::from_errno(EBUSY);
}

void cancel_removal(BlockDevice& device)
{
    for (usize j = g_listener_count; j-- > 0;)
        if (g_listeners[j].removal_cancelled)
            g_listeners[j].removal_cancelled(device);
    SpinLockGuard guard(device.m_lifetime_lock);
    device.m_dying.store(false, MemoryOrder::SeqCst);
}

bool wait_idle(BlockDevice& device, u64 timeout_ns)
{
    const u64 deadline = clock_ns() + timeout_ns;
    while (device.usage() != 0) {
        if (clock_ns() > deadline) {
            log_warn("block", "%s: %lu requests still in flight after %lu ms", device.name(), device.usage(),
                     timeout_ns / 1'000'000);
            return false;
        }
        sched::sleep_for(IDLE_POLL_NS);
    }
    return true;
}

void fail_requests(TagSet& set, int error)
{
    for (u32 q = 0; q < set.hw_queue_count(); q++) {
        HwQueue& hw = set.hw_queue(q);
        for (u32 tag = 0; tag < hw.depth(); tag++) {
            Request& request = hw.request(tag);
            if (request.state.load(MemoryOrder::Acquire) == RequestState::Issued)
                complete_request(request, error);
        }
    }
    // Requests still queued go to the driver, which fails them now.
    set.kick_all();
}

} // namespace block
