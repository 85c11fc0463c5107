// virtio-blk request queue. See RequestQueue.h.
#include "drivers/virtio/blk/RequestQueue.h"

#include "kernel/block/Bio.h"

namespace virtio::blk {

namespace {

Operation operation_of(block::BioOp op)
{
    switch (op) {
    case block::BioOp::Read:
        return Operation::Read;
    case block::BioOp::Write:
        return Operation::Write;
    case block::BioOp::Flush:
        break;
    }
    return Operation::Flush;
}

// Walks the data of a request bio by bio, vector entry by vector entry, in
// pieces of at most `max_bytes` (the device's size_max): exactly the data
// segments of the chain, in order.
class DataCursor {
public:
    DataCursor(const block::Request& request, u32 max_bytes, PhysAddr (*page_phys)(const Page*))
        : m_bio(request.bio_head)
        , m_max_bytes(max_bytes)
        , m_page_phys(page_phys)
    {
        if (m_bio)
            load_bio();
    }

    bool done() const { return !m_bio; }

    Segment next(bool device_writes)
    {
        const block::BioVec& vec = m_bio->vecs[m_index];
        const u32 in_vec = vec.length - m_done;
        const u32 length = min(min(in_vec, m_left), m_max_bytes);
        const Segment segment{ m_page_phys(vec.page) + vec.offset + m_done, length, device_writes };
        m_done += length;
        m_left -= length;
        if (m_done == vec.length) {
            m_index++;
            m_done = 0;
        }
        if (!m_left) {
            m_bio = m_bio->next;
            if (m_bio)
                load_bio();
        }
        return segment;
    }

private:
    void load_bio()
    {
        m_index = m_bio->iter.index;
        m_done = m_bio->iter.done_bytes;
        m_left = m_bio->iter.size_bytes;
        if (!m_left) { // an empty bio contributes nothing
            m_bio = m_bio->next;
            if (m_bio)
                load_bio();
        }
    }

    const block::Bio* m_bio;
    u32 m_max_bytes;
    PhysAddr (*m_page_phys)(const Page*);
    u16 m_index = 0;
    u32 m_done = 0;
    u32 m_left = 0;
};

usize count_data_segments(const block::Request& request, u32 max_bytes)
{
    usize count = 0;
    DataCursor cursor(request, max_bytes, [](const Page*) { return PhysAddr(0); });
    while (!cursor.done()) {
        cursor.next(false);
        count++;
    }
    return count;
}

} // namespace

RequestQueue::RequestQueue(SplitVirtqueue& ring, const QueueNotifier& notifier, const DeviceInfo& info,
    const AddressTranslation& translation)
    : m_ring(ring)
    , m_notifier(notifier)
    , m_info(info)
    , m_translation(translation)
{
}

u32 RequestQueue::max_data_segments(const SplitVirtqueue& ring)
{
    const u32 chain = ring.max_indirect_entries() ? ring.max_indirect_entries() : ring.size();
    return chain > 2 ? chain - 2 : 0;
}

RequestQueue::SubmitResult RequestQueue::submit(block::Request& request)
{
    const Operation op = operation_of(request.op);
    if (op == Operation::Flush && !m_info.volatile_write_cache)
        return { Outcome::Completed, 0 }; // without FLUSH, completed writes are already durable
    if (auto check = check_request(m_info, op, request.sector, request.size_bytes); check.is_error())
        return { Outcome::Completed, check.error().code() };

    const usize data_segments
        = op == Operation::Flush ? 0 : count_data_segments(request, m_info.max_segment_bytes);
    if (data_segments > m_info.max_segments)
        return { Outcome::Completed, EINVAL }; // the block layer's limits were not applied

    auto& data = request.driver_data_as<RequestData>();
    prepare_command(data.command, op, request.sector);
    const PhysAddr header_phys = m_translation.virt_phys(&data.command.header);
    const PhysAddr status_phys = m_translation.virt_phys(&data.command.status);
    const bool device_writes = op == Operation::Read;
    const usize count = chain_length(data_segments);
    DataCursor cursor(request, m_info.max_segment_bytes, m_translation.page_phys);

    auto added = m_ring.add_chain(count, &request, [&](usize i) {
        if (i == 0)
            return Segment{ header_phys, sizeof(RequestHeader), false };
        if (i == count - 1)
            return Segment{ status_phys, 1, true };
        return cursor.next(device_writes);
    });
    if (added.is_error()) {
        if (added.error().code() == ENOSPC) {
            m_counters.busy++;
            return { Outcome::Busy, 0 };
        }
        return { Outcome::Completed, added.error().code() };
    }
    m_counters.issued++;
    return { Outcome::Issued, 0 };
}

void RequestQueue::commit()
{
    if (!m_ring.has_unpublished())
        return;
    m_counters.batches++;
    if (m_ring.publish()) {
        m_counters.notifications++;
        m_notifier.notify();
    }
}

usize RequestQueue::reap_batch(Done* done, usize capacity)
{
    usize n = 0;
    for (;;) {
        UsedBuffer used;
        while (n < capacity && m_ring.pop_used(used)) {
            auto* request = static_cast<block::Request*>(used.token);
            done[n++] = { request, completion_errno(request->driver_data_as<RequestData>().command) };
        }
        if (n == capacity)
            break; // more may be waiting: the caller comes back
        if (!m_ring.interrupts_enabled() || m_ring.enable_interrupts())
            break;
        // Something was used while we re-armed: take it now.
    }
    m_counters.completed += n;
    return n;
}

} // namespace virtio::blk
