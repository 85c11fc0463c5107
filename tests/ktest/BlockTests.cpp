// ktest suite "block": blk-mq on the real kernel against an in-memory driver
// that behaves like a small device ring: it accepts up to RING requests,
// answers Busy beyond that, counts doorbells, and completes requests when the
// test (its "interrupt") or poll() processes the ring.
#include "arch/x86_64/PerCpu.h"
#include "kernel/block/BlkMq.h"
#include "kernel/block/BlockDevice.h"
#include "kernel/lib/String.h"
#include "kernel/mm/Heap.h"
#include "kernel/mm/PageAllocator.h"
#include "kernel/sched/Scheduler.h"
#include "kernel/sync/WaitQueue.h"
#include "tests/ktest/Ktest.h"

using namespace block;

namespace {

class MemDriver final : public BlockDriver {
public:
    static constexpr u32 RING = 8;

    QueueStatus queue_request(HwQueue&, Request& request, bool last) override
    {
        if (m_pending_count == RING)
            return QueueStatus::Busy;
        m_pending[m_pending_count++] = &request;
        m_requests_seen++;
        queued.wake_all();
        m_bytes_seen += request.size_bytes;
        if (request.size_bytes > m_largest_request)
            m_largest_request = request.size_bytes;
        if (last)
            m_doorbells++;
        return QueueStatus::Ok;
    }
    void commit(HwQueue&) override { m_doorbells++; }
    u32 poll(HwQueue&) override { return process(); }

    // The "device": move the data, complete everything pending.
    u32 process()
    {
        u32 done = 0;
        while (m_pending_count) {
            Request* batch[RING];
            const u32 n = m_pending_count;
            for (u32 i = 0; i < n; i++)
                batch[i] = m_pending[i];
            m_pending_count = 0;
            for (u32 i = 0; i < n; i++) {
                Request& r = *batch[i];
                int error = 0;
                if (r.sector <= fail_sector && fail_sector < r.end_sector())
                    error = EIO;
                else
                    transfer(r);
                complete_request(r, error);
                done++;
            }
        }
        return done;
    }

    void transfer(Request& r)
    {
        if (r.op == BioOp::Flush) {
            m_flushes++;
            return;
        }
        u8* disk = m_disk + r.sector * SECTOR_SIZE;
        for (Bio* bio = r.bio_head; bio; bio = bio->next) {
            for_each_segment(*bio, [&](const BioSegment& s) {
                u8* memory = static_cast<u8*>(mm::page_address(s.page)) + s.offset;
                if (r.op == BioOp::Write)
                    memcpy(disk, memory, s.length);
                else
                    memcpy(memory, disk, s.length);
                disk += s.length;
            });
        }
    }

    u8* m_disk = nullptr;
    Request* m_pending[RING] = {};
    u32 m_pending_count = 0;
    u64 m_requests_seen = 0;
    u64 m_bytes_seen = 0;
    u32 m_largest_request = 0;
    u64 m_doorbells = 0;
    u64 m_flushes = 0;
    u64 fail_sector = ~0ul;
    WaitQueue queued; // woken for every request the driver takes
};

constexpr u64 DISK_SECTORS = 2048; // 1 MiB

struct Fixture {
    MemDriver driver;
    TagSet* set = nullptr;
    BlockDevice* device = nullptr;

    bool init(u32 depth, SchedulerKind scheduler = SchedulerKind::None)
    {
        driver.m_disk = static_cast<u8*>(kzalloc(DISK_SECTORS * SECTOR_SIZE));
        TagSetConfig config;
        config.name = "memblk";
        config.driver = &driver;
        config.interrupt_queues = 1;
        config.poll_queues = 1;
        config.queue_depth = depth;
        config.driver_data_size = 16;
        config.scheduler = scheduler;
        auto set_or_error = TagSet::create(config);
        if (set_or_error.is_error() || !driver.m_disk)
            return false;
        set = set_or_error.release_value().leak();
        DeviceInfo info;
        memcpy(info.name, "memblk0", 8);
        info.capacity_sectors = DISK_SECTORS;
        info.limits.max_hw_sectors = 64; // 32 KiB: forces splits
        info.limits.max_segments = 16;
        info.limits.virt_boundary_mask = PAGE_SIZE - 1;
        info.limits.write_cache = true;
        auto device_or_error = BlockDevice::create(info, *set, nullptr);
        if (device_or_error.is_error())
            return false;
        device = device_or_error.release_value().leak();
        return true;
    }
};

// Pages filled with a pattern derived from the sector they belong to.
struct Buffer {
    Page* page = nullptr;
    unsigned order = 0;
    BioVec vecs[64];
    u16 count = 0;

    bool init(unsigned page_order)
    {
        order = page_order;
        page = mm::alloc_pages(order);
        return page != nullptr;
    }
    ~Buffer()
    {
        if (page)
            mm::free_pages(page, order);
    }
    u8* bytes() { return static_cast<u8*>(mm::page_address(page)); }
    // One vec per page (so each is its own segment).
    void map_pages(u32 offset, u32 length)
    {
        count = 0;
        while (length) {
            const u32 in_page = min<u32>(length, PAGE_SIZE - (offset % PAGE_SIZE));
            vecs[count++] = BioVec {page, offset, in_page};
            offset += in_page;
            length -= in_page;
        }
    }
};

u8 pattern(u64 sector, u32 byte) { return static_cast<u8>(sector * 7 + byte * 13 + 1); }

int run_sync(BlockDevice& device, BioOp op, u64 sector, const BioVec* vecs, u16 count, u32 flags = BIO_POLLED)
{
    Bio bio;
    bio_init(bio, op, sector, vecs, count);
    bio.device = &device;
    bio.flags = flags;
    return submit_bio_wait(bio);
}

} // namespace

KTEST(block, write_then_read_back_with_splits)
{
    static Fixture f;
    KASSERT(f.init(16));
    Buffer out, in;
    KASSERT(out.init(5)); // 128 KiB
    KASSERT(in.init(5));
    const u32 length = 100 * 1024;
    const u64 sector = 40;
    for (u32 i = 0; i < length; i++)
        out.bytes()[512 + i] = pattern(sector + i / 512, i % 512);
    // One vec across contiguous pages, 512 bytes into the block.
    BioVec wvec {out.page, 512, length};
    KEXPECT_EQ(run_sync(*f.device, BioOp::Write, sector, &wvec, 1), 0);
    KEXPECT(f.driver.m_largest_request <= 32u * 1024);
    KEXPECT(f.driver.m_requests_seen >= 4u);
    memset(in.bytes(), 0, 128 * 1024);
    in.map_pages(0, length);
    KEXPECT_EQ(run_sync(*f.device, BioOp::Read, sector, in.vecs, in.count), 0);
    u32 mismatches = 0;
    for (u32 i = 0; i < length; i++)
        mismatches += in.bytes()[i] != pattern(sector + i / 512, i % 512);
    KEXPECT_EQ(mismatches, 0u);
    KEXPECT_EQ(run_sync(*f.device, BioOp::Flush, 0, nullptr, 0), 0);
    KEXPECT_EQ(f.driver.m_flushes, 1ul);
    KEXPECT_EQ(f.set->hw_queue(1).tags_in_use(), 0u);
    KEXPECT_EQ(f.device->stats().in_flight(), 0ul);
}

KTEST(block, rejects_bad_bios_before_the_driver)
{
    static Fixture f;
    KASSERT(f.init(16));
    Buffer b;
    KASSERT(b.init(0));
    const u64 seen = f.driver.m_requests_seen;
    BioVec odd {b.page, 0, 1000};
    KEXPECT_EQ(run_sync(*f.device, BioOp::Read, 0, &odd, 1), EINVAL);
    BioVec unaligned {b.page, 3, 512};
    KEXPECT_EQ(run_sync(*f.device, BioOp::Read, 0, &unaligned, 1), EINVAL);
    BioVec page {b.page, 0, 4096};
    KEXPECT_EQ(run_sync(*f.device, BioOp::Read, DISK_SECTORS - 4, &page, 1), EIO);
    KEXPECT_EQ(run_sync(*f.device, BioOp::Read, DISK_SECTORS, &page, 1), EIO);
    KEXPECT_EQ(f.driver.m_requests_seen, seen);
    KEXPECT_EQ(run_sync(*f.device, BioOp::Read, DISK_SECTORS - 8, &page, 1), 0);
}

KTEST(block, device_errors_reach_only_the_affected_bio)
{
    static Fixture f;
    KASSERT(f.init(16));
    Buffer b;
    KASSERT(b.init(0));
    BioVec page {b.page, 0, 4096};
    f.driver.fail_sector = 100;
    KEXPECT_EQ(run_sync(*f.device, BioOp::Read, 96, &page, 1), EIO);
    KEXPECT_EQ(run_sync(*f.device, BioOp::Read, 104, &page, 1), 0);
    // A split bio whose middle child fails ends with EIO once, after all children.
    Buffer big;
    KASSERT(big.init(4));
    BioVec vec {big.page, 0, 64 * 1024};
    KEXPECT_EQ(run_sync(*f.device, BioOp::Read, 64, &vec, 1), EIO);
    f.driver.fail_sector = ~0ul;
    KEXPECT_EQ(f.set->hw_queue(1).tags_in_use(), 0u);
}

namespace {

struct AsyncCounter {
    u32 done = 0;
    u32 errors = 0;
};

void count_end_io(Bio& bio)
{
    auto* counter = static_cast<AsyncCounter*>(bio.private_data);
    counter->done++;
    if (bio.status)
        counter->errors++;
}

} // namespace

KTEST(block, plug_merges_contiguous_bios_into_one_request)
{
    static Fixture f;
    KASSERT(f.init(16));
    Buffer b;
    KASSERT(b.init(3)); // 8 pages
    static Bio bios[8];
    static BioVec vecs[8];
    AsyncCounter counter;
    const u64 requests_before = f.driver.m_requests_seen;
    const u64 doorbells_before = f.driver.m_doorbells;
    const u64 merges_before = f.device->stats().snapshot().merges[0];
    {
        // The plug hangs off this thread: submit_bio() finds it by itself.
        Plug plug;
        KEXPECT(plug.is_active() && current_plug() == &plug);
        for (u32 i = 0; i < 8; i++) {
            vecs[i] = BioVec {b.page, i * 4096, 4096};
            bio_init(bios[i], BioOp::Read, 200 + i * 8, &vecs[i], 1);
            bios[i].device = f.device;
            bios[i].end_io = count_end_io;
            bios[i].private_data = &counter;
            submit_bio(bios[i]);
        }
        KEXPECT_EQ(f.driver.m_requests_seen, requests_before);
    }
    KEXPECT_EQ(f.driver.m_requests_seen, requests_before + 1);
    KEXPECT_EQ(f.driver.m_doorbells, doorbells_before + 1);
    KEXPECT_EQ(f.device->stats().snapshot().merges[0], merges_before + 7);
    f.driver.process();
    KEXPECT_EQ(counter.done, 8u);
    KEXPECT_EQ(counter.errors, 0u);
}

KTEST(block, thread_plug_nests_and_is_flushed_when_the_thread_sleeps)
{
    static Fixture f;
    KASSERT(f.init(16));
    Buffer b;
    KASSERT(b.init(2)); // 4 pages
    static Bio bios[4];
    static BioVec vecs[4];
    AsyncCounter counter;
    auto prepare = [&](u32 i, u64 sector) {
        vecs[i] = BioVec {b.page, i * 4096, 4096};
        bio_init(bios[i], BioOp::Read, sector, &vecs[i], 1);
        bios[i].device = f.device;
        bios[i].end_io = count_end_io;
        bios[i].private_data = &counter;
    };
    const u64 requests_before = f.driver.m_requests_seen;
    KEXPECT(current_plug() == nullptr);
    {
        Plug outer;
        prepare(0, 400);
        submit_bio(bios[0]);
        {
            Plug inner; // nested: the outer plug keeps collecting
            KEXPECT(!inner.is_active());
            KEXPECT(current_plug() == &outer);
            prepare(1, 408); // contiguous: merges into the same request
            submit_bio(bios[1]);
        }
        KEXPECT_EQ(f.driver.m_requests_seen, requests_before);
        KEXPECT(!outer.is_empty());
        // Sleeping sends what the thread holds back (sched::schedule()): the
        // only way this wait can end before its timeout.
        KEXPECT(wait_event_timeout(f.driver.queued, [&] { return f.driver.m_requests_seen > requests_before; },
                                   2'000'000'000ul));
        KEXPECT(outer.is_empty());
        KEXPECT_EQ(f.driver.m_requests_seen, requests_before + 1);
        // Yielding (still runnable) does not.
        prepare(2, 800);
        submit_bio(bios[2]);
        sched::yield();
        KEXPECT_EQ(f.driver.m_requests_seen, requests_before + 1);
        // submit_bio_wait inside a plug does not wait for itself.
        prepare(3, 900);
        bios[3].end_io = nullptr;
        bios[3].flags = BIO_POLLED;
        KEXPECT_EQ(submit_bio_wait(bios[3]), 0);
    }
    KEXPECT(current_plug() == nullptr);
    KEXPECT_EQ(f.driver.m_requests_seen, requests_before + 3);
    f.driver.process();
    KEXPECT_EQ(counter.done, 3u);
    KEXPECT_EQ(f.set->hw_queue(0).tags_in_use(), 0u);
}

KTEST(block, tag_exhaustion_and_busy_device_lose_nothing)
{
    static Fixture f;
    KASSERT(f.init(4, SchedulerKind::MqDeadline)); // 4 tags, ring of 8: tags run out first
    Buffer b;
    KASSERT(b.init(0));
    constexpr u32 N = 64;
    static Bio bios[N];
    static BioVec vec;
    vec = BioVec {b.page, 0, 512};
    AsyncCounter counter;
    for (u32 i = 0; i < N; i++) {
        // Scattered, non-contiguous sectors, alternating reads and writes.
        bio_init(bios[i], i % 2 ? BioOp::Write : BioOp::Read, (i * 37) % DISK_SECTORS, &vec, 1);
        bios[i].device = f.device;
        bios[i].end_io = count_end_io;
        bios[i].private_data = &counter;
        submit_bio(bios[i]);
    }
    HwQueue& hw = f.set->hw_queue_for_cpu(current_cpu_index(), false);
    KEXPECT(hw.counters().tag_waits > 0);
    for (u32 round = 0; round < 1000 && counter.done < N; round++)
        f.driver.process();
    KEXPECT_EQ(counter.done, N);
    KEXPECT_EQ(counter.errors, 0u);
    KEXPECT_EQ(hw.tags_in_use(), 0u);
    KEXPECT_EQ(f.device->stats().in_flight(), 0ul);
    const DiskStatsSnapshot s = f.device->stats().snapshot();
    KEXPECT_EQ(s.ios[0] + s.ios[1], u64(N));
    char line[160];
    format_diskstats_line(line, sizeof(line), 7, 0, f.device->name(), s);
    KEXPECT(strncmp(line, "   7       0 memblk0 32 0 32 ", 29) == 0);
}

KTEST(block, busy_device_keeps_order_and_rings_for_what_went_out)
{
    static Fixture f;
    KASSERT(f.init(32)); // more tags than ring slots: the device says Busy
    Buffer b;
    KASSERT(b.init(0));
    constexpr u32 N = 20;
    static Bio bios[N];
    static BioVec vec;
    vec = BioVec {b.page, 0, 512};
    AsyncCounter counter;
    {
        Plug plug;
        for (u32 i = 0; i < N; i++) {
            bio_init(bios[i], BioOp::Read, i * 16, &vec, 1); // gaps: no merging
            bios[i].device = f.device;
            bios[i].end_io = count_end_io;
            bios[i].private_data = &counter;
            submit_bio(bios[i], &plug);
        }
    }
    HwQueue& hw = f.set->hw_queue_for_cpu(current_cpu_index(), false);
    KEXPECT_EQ(f.driver.m_pending_count, MemDriver::RING);
    KEXPECT(hw.counters().busy >= 1);
    // The first request in the ring is the first submitted.
    KEXPECT_EQ(f.driver.m_pending[0]->sector, 0ul);
    for (u32 round = 0; round < 100 && counter.done < N; round++)
        f.driver.process();
    KEXPECT_EQ(counter.done, N);
    KEXPECT_EQ(hw.tags_in_use(), 0u);
}
