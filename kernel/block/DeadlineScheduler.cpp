#include "kernel/block/DeadlineScheduler.h"

namespace block {

void DeadlineScheduler::insert(Request& request, u64 now_ns)
{
    if (request.op == BioOp::Flush) {
        m_dispatch.push_back(request);
        return;
    }
    const Direction direction = request.op == BioOp::Write ? WRITE : READ;
    PerDirection& dir = m_dir[direction];
    request.fifo_deadline_ns = now_ns + (direction == READ ? READ_EXPIRE_NS : WRITE_EXPIRE_NS);
    dir.fifo.push_back(request);

    // Insertion sort: keep ascending sector order (equal sectors stay FIFO).
    Request* position = nullptr;
    for (auto& r : dir.sorted) {
        if (r.sector > request.sector) {
            position = &r;
            break;
        }
    }
    if (!position) {
        dir.sorted.push_back(request);
        return;
    }
    ListNode* node = &request.sort_node;
    ListNode* before = &position->sort_node;
    node->next = before;
    node->prev = before->prev;
    before->prev->next = node;
    before->prev = node;
}

Request* DeadlineScheduler::next_in_sort_order(Direction direction, Request& request)
{
    if (m_dir[direction].sorted.last() == &request)
        return nullptr;
    return SortList::owner_of(request.sort_node.next);
}

Request* DeadlineScheduler::take(Direction direction, Request& request)
{
    PerDirection& dir = m_dir[direction];
    dir.next = next_in_sort_order(direction, request);
    SortList::remove(request);
    RequestList::remove(request);
    m_batch_direction = direction;
    m_batching++;
    return &request;
}

bool DeadlineScheduler::has_work() const
{
    return !m_dispatch.is_empty() || !m_dir[READ].fifo.is_empty() || !m_dir[WRITE].fifo.is_empty();
}

Request* DeadlineScheduler::dispatch(u64 now_ns)
{
    if (Request* request = m_dispatch.pop_front())
        return request;

    // Continue the current sweep while the batch lasts.
    Request* next = m_dir[m_batch_direction].next;
    if (next && m_batching < FIFO_BATCH)
        return take(m_batch_direction, *next);

    // Choose a direction for a new batch.
    const bool reads = !m_dir[READ].fifo.is_empty();
    const bool writes = !m_dir[WRITE].fifo.is_empty();
    Direction direction;
    if (reads && !(writes && m_starved >= WRITES_STARVED)) {
        direction = READ;
        if (writes)
            m_starved++;
    } else if (writes) {
        direction = WRITE;
        m_starved = 0;
    } else {
        return nullptr;
    }

    // Start at the oldest request if it is overdue (or the sweep ran off
    // the end of the disk), otherwise continue the sweep.
    PerDirection& dir = m_dir[direction];
    Request* oldest = dir.fifo.first();
    Request* start = dir.next;
    if (!start || oldest->fifo_deadline_ns <= now_ns)
        start = oldest;
    m_batching = 0;
    return take(direction, *start);
}

} // namespace block
