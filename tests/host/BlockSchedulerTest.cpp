// kernel/block: the none and mq-deadline schedulers, and diskstats.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "kernel/block/DeadlineScheduler.h"
#include "kernel/block/DiskStats.h"
#include "kernel/block/Scheduler.h"
#include "kernel/block/SchedulerChoice.h"

using namespace block;

namespace {

std::vector<Request> make_requests(const std::vector<std::pair<BioOp, u64>>& spec)
{
    std::vector<Request> rs(spec.size());
    for (usize i = 0; i < spec.size(); i++) {
        rs[i].op = spec[i].first;
        rs[i].sector = spec[i].second;
        rs[i].size_bytes = 4096;
        rs[i].tag = static_cast<u32>(i);
    }
    return rs;
}

std::vector<u64> drain(Scheduler& s, u64 now)
{
    std::vector<u64> order;
    while (Request* r = s.dispatch(now))
        order.push_back(r->sector);
    return order;
}

constexpr u64 MS = 1'000'000;

} // namespace

TEST(NoneScheduler, FirstInFirstOutWithRequeueFirst)
{
    auto rs = make_requests({{BioOp::Read, 50}, {BioOp::Write, 10}, {BioOp::Read, 30}});
    NoneScheduler s;
    for (auto& r : rs)
        s.insert(r, 0);
    Request* first = s.dispatch(0);
    EXPECT_EQ(first->sector, 50u);
    s.requeue(*first);
    EXPECT_EQ(drain(s, 0), (std::vector<u64> {50, 10, 30}));
    EXPECT_FALSE(s.has_work());
}

TEST(DeadlineScheduler, SortsReadsBySectorWithinABatch)
{
    auto rs = make_requests({{BioOp::Read, 500}, {BioOp::Read, 100}, {BioOp::Read, 300}, {BioOp::Read, 200}});
    DeadlineScheduler s;
    for (auto& r : rs)
        s.insert(r, 0);
    // The batch starts at the oldest (500), then sweeps upwards; off the end
    // it restarts from the oldest remaining request.
    EXPECT_EQ(drain(s, 1 * MS), (std::vector<u64> {500, 100, 200, 300}));
}

TEST(DeadlineScheduler, ExpiredRequestsStartTheNextBatch)
{
    auto rs = make_requests({{BioOp::Read, 1000}, {BioOp::Read, 10}, {BioOp::Read, 20}});
    DeadlineScheduler s;
    s.insert(rs[0], 0);        // old, high sector
    s.insert(rs[1], 400 * MS); // young, low sectors
    s.insert(rs[2], 400 * MS);
    // In the sweep, before any deadline, requests go in sector order.
    DeadlineScheduler sweep;
    auto young = make_requests({{BioOp::Read, 10}, {BioOp::Read, 20}, {BioOp::Read, 1000}, {BioOp::Read, 15}});
    sweep.insert(young[0], 0);
    sweep.insert(young[1], 0);
    sweep.insert(young[2], 0);
    EXPECT_EQ(sweep.dispatch(0)->sector, 10u);
    sweep.insert(young[3], 0); // behind the sweep: served when it wraps
    EXPECT_EQ(sweep.dispatch(100 * MS)->sector, 20u);
    EXPECT_EQ(sweep.dispatch(100 * MS)->sector, 1000u);
    EXPECT_EQ(sweep.dispatch(100 * MS)->sector, 15u);

    // At t=600 ms request 1000 is overdue: a new batch starts with it.
    EXPECT_EQ(s.dispatch(600 * MS)->sector, 1000u);
    EXPECT_EQ(s.dispatch(600 * MS)->sector, 10u);
    EXPECT_EQ(s.dispatch(600 * MS)->sector, 20u);
}

TEST(DeadlineScheduler, ReadsArePreferredButWritesDoNotStarve)
{
    std::vector<std::pair<BioOp, u64>> spec;
    for (u64 i = 0; i < 64; i++)
        spec.push_back({BioOp::Read, 1000 + i * 8});
    spec.push_back({BioOp::Write, 5});
    auto rs = make_requests(spec);
    DeadlineScheduler s;
    for (auto& r : rs)
        s.insert(r, 0);
    // Reads go first in batches of FIFO_BATCH; after WRITES_STARVED read
    // batches the write gets its turn.
    std::vector<BioOp> ops;
    while (Request* r = s.dispatch(1 * MS))
        ops.push_back(r->op);
    usize write_position = 0;
    for (usize i = 0; i < ops.size(); i++)
        if (ops[i] == BioOp::Write)
            write_position = i;
    EXPECT_EQ(write_position, DeadlineScheduler::FIFO_BATCH * DeadlineScheduler::WRITES_STARVED);
    EXPECT_EQ(ops.size(), 65u);
}

TEST(DeadlineScheduler, FlushesAndRequeuesGoFirst)
{
    auto rs = make_requests({{BioOp::Read, 100}, {BioOp::Flush, 0}, {BioOp::Read, 50}});
    DeadlineScheduler s;
    s.insert(rs[0], 0);
    s.insert(rs[1], 0);
    EXPECT_EQ(s.dispatch(0)->op, BioOp::Flush);
    Request* r = s.dispatch(0);
    EXPECT_EQ(r->sector, 100u);
    s.requeue(*r);
    s.insert(rs[2], 0);
    EXPECT_EQ(s.dispatch(0)->sector, 100u);
    EXPECT_EQ(s.dispatch(0)->sector, 50u);
    EXPECT_FALSE(s.has_work());
}

TEST(DiskStats, CountsLikeLinuxAndFormatsItsLine)
{
    DiskStats st;
    // Two reads overlapping from 10 ms to 30 ms, one write 40-45 ms, one flush.
    st.start_io(10 * MS);
    st.start_io(12 * MS);
    st.end_io(StatGroup::Read, 8, 15 * MS, 25 * MS);
    st.end_io(StatGroup::Read, 16, 18 * MS, 30 * MS);
    st.merged(StatGroup::Read);
    st.start_io(40 * MS);
    st.end_io(StatGroup::Write, 8, 5 * MS, 45 * MS);
    st.start_io(50 * MS);
    st.end_io(StatGroup::Flush, 0, 1 * MS, 51 * MS);
    DiskStatsSnapshot s = st.snapshot();
    EXPECT_EQ(s.ios[0], 2u);
    EXPECT_EQ(s.merges[0], 1u);
    EXPECT_EQ(s.sectors[0], 24u);
    EXPECT_EQ(s.ms[0], 33u);
    EXPECT_EQ(s.ios[1], 1u);
    EXPECT_EQ(s.in_flight, 0u);
    // Busy 10-30, 40-45, 50-51 ms.
    EXPECT_EQ(s.io_ticks_ms, 26u);
    EXPECT_EQ(s.time_in_queue_ms, 39u);
    char line[256];
    format_diskstats_line(line, sizeof(line), 259, 0, "nvme0n1", s);
    EXPECT_STREQ(line, " 259       0 nvme0n1 2 1 24 33 1 0 8 5 0 26 39 0 0 0 0 1 1\n");
    // 20 fields after the name, as in Linux 5.5+.
    int fields = 0;
    for (char* p = strtok(line, " \n"); p; p = strtok(nullptr, " \n"))
        fields++;
    EXPECT_EQ(fields, 3 + 17);
}

TEST(SchedulerChoice, PerDeviceEntriesOfTheCommandLine)
{
    const StringView list("nvme0n1:mq-deadline,vda:none,vdb:cfq");
    SchedulerChoice c = scheduler_choice(list, "nvme0n1");
    EXPECT_EQ(c.status, SchedulerChoice::Status::Chosen);
    EXPECT_EQ(c.kind, SchedulerKind::MqDeadline);
    c = scheduler_choice(list, "vda");
    EXPECT_EQ(c.status, SchedulerChoice::Status::Chosen);
    EXPECT_EQ(c.kind, SchedulerKind::None);
    EXPECT_EQ(scheduler_choice(list, "vdb").status, SchedulerChoice::Status::Unknown);
    // Names match whole: nvme0n1 is not nvme0n11, vd is not vda.
    EXPECT_EQ(scheduler_choice(list, "nvme0n11").status, SchedulerChoice::Status::NotNamed);
    EXPECT_EQ(scheduler_choice(list, "vd").status, SchedulerChoice::Status::NotNamed);
    EXPECT_EQ(scheduler_choice(StringView(), "vda").status, SchedulerChoice::Status::NotNamed);
    // Malformed entries are skipped; the last entry for a device wins.
    c = scheduler_choice(StringView(":none,vda,,vda:none,vda:mq-deadline"), "vda");
    EXPECT_EQ(c.status, SchedulerChoice::Status::Chosen);
    EXPECT_EQ(c.kind, SchedulerKind::MqDeadline);
    EXPECT_STREQ(scheduler_kind_name(SchedulerKind::MqDeadline), "mq-deadline");
    EXPECT_STREQ(scheduler_kind_name(SchedulerKind::None), "none");
}
