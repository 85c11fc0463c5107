#include "kernel/block/Bench.h"

#include "arch/x86_64/PerCpu.h"
#include "kernel/block/BlkMq.h"
#include "kernel/block/BlockDevice.h"
#include "kernel/lib/CommandLine.h"
#include "kernel/log/Log.h"
#include "kernel/mm/Heap.h"
#include "kernel/mm/PageAllocator.h"
#include "kernel/sched/Scheduler.h"
#include "kernel/time/Clock.h"

namespace block {

u32 LatencyHistogram::bucket_of(u64 ns)
{
    if (ns < SUB)
        return static_cast<u32>(ns);
    const u32 msb = 63 - static_cast<u32>(__builtin_clzl(ns));
    const u32 shift = msb - 4; // keep 5 significant bits: 1xxxx
    const u32 bucket = (shift + 1) * SUB + static_cast<u32>((ns >> shift) & (SUB - 1));
    return min(bucket, BUCKETS - 1);
}

u64 LatencyHistogram::bucket_floor(u32 bucket)
{
    if (bucket < SUB)
        return bucket;
    const u32 shift = bucket / SUB - 1;
    return (u64(SUB) | (bucket % SUB)) << shift;
}

void LatencyHistogram::record(u64 ns)
{
    m_buckets[bucket_of(ns)]++;
    m_count++;
}

u64 LatencyHistogram::percentile(u32 per_mille_x10) const
{
    if (!m_count)
        return 0;
    const u64 rank = (m_count * per_mille_x10 + 999) / 1000;
    u64 seen = 0;
    for (u32 b = 0; b < BUCKETS; b++) {
        seen += m_buckets[b];
        if (seen >= rank)
            return bucket_floor(b);
    }
    return bucket_floor(BUCKETS - 1);
}

namespace {

struct Slot {
    Bio bio;
    BioVec vec;
    Page* page;
    u64 submit_ns;
    bool done;
};

void bench_end_io(Bio& bio)
{
    auto* slot = static_cast<Slot*>(bio.private_data);
    __atomic_store_n(&slot->done, true, __ATOMIC_RELEASE);
}

struct Lcg {
    u64 state;
    u64 next()
    {
        state = state * 6364136223846793005ul + 1442695040888963407ul;
        return state >> 17;
    }
};

void bench_blk_mq(BlockDevice& device, const BenchParams& p, BenchResult& out)
{
    const u32 order = p.block_bytes > PAGE_SIZE ? 64 - __builtin_clzl((p.block_bytes - 1) / PAGE_SIZE) : 0;
    auto* slots = static_cast<Slot*>(kzalloc(sizeof(Slot) * p.queue_depth));
    if (!slots)
        return;
    const u64 blocks = device.capacity_bytes() / p.block_bytes;
    Lcg random {0x1234};
    u64 next_block = 0;
    auto submit = [&](Slot& s) {
        const u64 block = p.random ? random.next() % blocks : next_block++ % blocks;
        s.vec = BioVec {s.page, 0, p.block_bytes};
        bio_init(s.bio, p.write ? BioOp::Write : BioOp::Read, block * (p.block_bytes / SECTOR_SIZE), &s.vec, 1);
        s.bio.device = &device;
        s.bio.end_io = bench_end_io;
        s.bio.private_data = &s;
        s.done = false;
        s.submit_ns = clock_ns();
        submit_bio(s.bio);
    };
    u32 ready = 0;
    for (; ready < p.queue_depth; ready++) {
        slots[ready].page = mm::alloc_pages(order);
        if (!slots[ready].page)
            break;
    }
    const u64 start = clock_ns();
    const u64 end = start + p.duration_ns;
    for (u32 i = 0; i < ready; i++)
        submit(slots[i]);
    u32 in_flight = ready;
    while (in_flight) {
        bool progress = false;
        for (u32 i = 0; i < ready; i++) {
            Slot& s = slots[i];
            if (!s.page || !__atomic_load_n(&s.done, __ATOMIC_ACQUIRE))
                continue;
            progress = true;
            const u64 now = clock_ns();
            out.latency.record(now - s.submit_ns);
            out.ios++;
            out.bytes += p.block_bytes;
            if (s.bio.status)
                out.errors++;
            if (now < end) {
                submit(s);
            } else {
                s.done = false;
                mm::free_pages(s.page, order);
                s.page = nullptr;
                in_flight--;
            }
        }
        if (!progress)
            sched::yield();
    }
    out.elapsed_ns = clock_ns() - start;
    kfree(slots);
}

void print_result(const char* device, const char* level, const BenchParams& p, const BenchResult& r)
{
    const u64 elapsed_us = max<u64>(1, r.elapsed_ns / 1000);
    const u64 iops = r.ios * 1'000'000 / elapsed_us;
    const u64 kbps = r.bytes * 1'000'000 / elapsed_us / 1000; // decimal kB/s
    log_raw("bench: %s %-7s %s bs=%u qd=%u: %lu IOPS, %lu.%02lu MB/s, lat p50 %lu us p99 %lu us p99.9 %lu us"
            " (%lu I/Os, %lu errors, %lu ms)\n",
            device, level, p.random ? (p.write ? "randwrite" : "randread") : (p.write ? "write" : "read"),
            p.block_bytes, p.queue_depth, iops, kbps / 1000, (kbps % 1000) / 10, r.latency.percentile(500) / 1000,
            r.latency.percentile(990) / 1000, r.latency.percentile(999) / 1000, r.ios, r.errors,
            r.elapsed_ns / 1'000'000);
}

} // namespace

bool run_benchmark(const CommandLine& command_line)
{
    BenchParams p;
    p.queue_depth = static_cast<u32>(min<u64>(256, max<u64>(1, command_line.get_u64("qd", 32))));
    p.block_bytes = static_cast<u32>(command_line.get_u64("bs", 4096));
    p.duration_ns = command_line.get_u64("secs", 5) * 1'000'000'000ul;
    const StringView pattern = command_line.get("pattern", "randread");
    p.random = pattern == StringView("randread") || pattern == StringView("randwrite");
    p.write = pattern == StringView("randwrite") || pattern == StringView("write");
    const StringView name = command_line.get("dev", "nvme0n1");
    BlockDevice* device = find_device(name);
    if (!device || p.block_bytes % device->limits().logical_block_size || p.block_bytes > 1 * MiB) {
        log_error("bench", "bad device or block size (dev=%.*s bs=%u)", static_cast<int>(name.length()),
                  name.chars(), p.block_bytes);
        return false;
    }
    static BenchResult through_blk_mq;
    through_blk_mq = BenchResult {};
    bench_blk_mq(*device, p, through_blk_mq);
    print_result(device->name(), "blk-mq", p, through_blk_mq);
    static BenchResult raw;
    raw = BenchResult {};
    if (device->tag_set().driver().raw_benchmark(*device, p, raw)) {
        print_result(device->name(), "raw", p, raw);
        const u64 blk_us = max<u64>(1, through_blk_mq.elapsed_ns / 1000), raw_us = max<u64>(1, raw.elapsed_ns / 1000);
        const u64 blk_iops = through_blk_mq.ios * 1'000'000 / blk_us;
        const u64 raw_iops = max<u64>(1, raw.ios * 1'000'000 / raw_us);
        log_raw("bench: %s blk-mq/raw IOPS ratio %lu%%\n", device->name(), blk_iops * 100 / raw_iops);
    } else {
        log_raw("bench: %s has no raw queue loop\n", device->name());
    }
    return true;
}

} // namespace block
