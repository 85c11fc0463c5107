// mq-deadline (after Linux block/mq-deadline.c): per direction, a list sorted
// by sector and a FIFO with deadlines. Requests are dispatched in ascending
// sector batches of up to FIFO_BATCH; a new batch starts at the oldest
// request if its deadline has passed, else where the last batch stopped.
// Reads are preferred, but writes are chosen after WRITES_STARVED read
// batches passed them over. Flushes and requeued requests skip the sorting.
#pragma once

#include "kernel/block/Scheduler.h"

namespace block {

class DeadlineScheduler final : public Scheduler {
public:
    static constexpr u64 READ_EXPIRE_NS = 500'000'000ul;   // 500 ms
    static constexpr u64 WRITE_EXPIRE_NS = 5'000'000'000ul; // 5 s
    static constexpr u32 WRITES_STARVED = 2;
    static constexpr u32 FIFO_BATCH = 16;

    const char* name() const override { return "mq-deadline"; }
    void insert(Request& request, u64 now_ns) override;
    void requeue(Request& request) override { m_dispatch.push_front(request); }
    Request* dispatch(u64 now_ns) override;
    bool has_work() const override;

private:
    enum Direction : u8 { READ = 0, WRITE = 1 };
    using SortList = IntrusiveList<Request, &Request::sort_node>;

    struct PerDirection {
        SortList sorted;   // ascending sector
        RequestList fifo;  // arrival order
        Request* next = nullptr; // where the current sweep continues
    };

    Request* take(Direction direction, Request& request);
    Request* next_in_sort_order(Direction direction, Request& request);

    PerDirection m_dir[2];
    RequestList m_dispatch; // flushes and requeues: served first
    Direction m_batch_direction = READ;
    u32 m_batching = 0;
    u32 m_starved = 0;
};

} // namespace block
