// Per-thread plugging (Plug.h): requests wait on the plug and go to their
// hardware queues in one batch per queue when it is flushed.
#include "kernel/block/Plug.h"

#include "arch/x86_64/PerCpu.h"
#include "kernel/block/BlockDevice.h"
#include "kernel/block/DiskStats.h"
#include "kernel/block/HwQueue.h"
#include "kernel/sched/Thread.h"

namespace block {

Plug* current_plug()
{
    PerCpu& cpu = this_cpu();
    if (cpu.irq_depth || !cpu.current_thread)
        return nullptr;
    return cpu.current_thread->block_plug();
}

Plug::Plug()
{
    Thread* thread = this_cpu().current_thread;
    if (this_cpu().irq_depth || !thread || thread->block_plug())
        return; // nested (or interrupt context): the outer plug collects
    m_owner = thread;
    thread->set_block_plug(this);
}

Plug::~Plug()
{
    if (!m_owner)
        return;
    flush();
    m_owner->set_block_plug(nullptr);
}

void flush_plug_before_sleep(Plug& plug) { plug.flush(); }

bool Plug::try_merge(Bio& bio)
{
    if (bio.op == BioOp::Flush)
        return false;
    const QueueLimits& limits = bio.device->limits();
    for (Request& request : m_requests) {
        const MergeKind kind = merge_kind(request, bio, limits);
        if (kind != MergeKind::None) {
            request_merge_bio(request, bio, kind, limits);
            bio.device->stats().merged(stat_group(bio.op));
            return true;
        }
    }
    return false;
}

void Plug::add(Request& request)
{
    m_requests.push_back(request);
    if (++m_count >= MAX_PLUGGED)
        flush();
}

void Plug::flush()
{
    if (m_requests.is_empty())
        return;
    // Insert everything, then run each hardware queue once: one batch, one doorbell.
    HwQueue* touched[8];
    u32 touched_count = 0;
    while (Request* request = m_requests.pop_front()) {
        HwQueue* hw = request->hw_queue;
        hw->insert(*request);
        bool seen = false;
        for (u32 i = 0; i < touched_count; i++)
            seen |= touched[i] == hw;
        if (!seen) {
            if (touched_count == ARRAY_SIZE(touched)) {
                for (u32 i = 0; i < touched_count; i++)
                    touched[i]->run();
                touched_count = 0;
            }
            touched[touched_count++] = hw;
        }
    }
    m_count = 0;
    for (u32 i = 0; i < touched_count; i++)
        touched[i]->run();
}

} // namespace block
