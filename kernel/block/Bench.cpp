#include "kernel/block/Bench.h"

#include "arch/x86_64/PerCpu.h"
#include "kernel/block/BlkMq.h"
#include "kernel/block/BlockDevice.h"
#include "kernel/block/bench/BenchDriver.h"
#include "kernel/lib/Atomic.h"
#include "kernel/lib/CommandLine.h"
#include "kernel/log/Log.h"
#include "kernel/mm/Heap.h"
#include "kernel/mm/PageAllocator.h"
#include "kernel/lib/Format.h"
#include "kernel/lib/String.h"
#include "kernel/sched/Scheduler.h"
#include "kernel/sched/Thread.h"
#include "kernel/sync/WaitQueue.h"
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

struct Waiter;

struct Slot {
    Bio bio;
    BioVec vec;
    Page* page;
    Waiter* waiter;
    u64 submit_ns;
    Atomic<bool> done;
};

// The submitting thread sleeps until a completion arrives (as fio does in
// io_uring_enter(GETEVENTS)): a spinning vCPU would take host CPU time from
// QEMU's device emulation. The completion path wakes it only when it sleeps.
struct Waiter {
    WaitQueue queue;
    Atomic<u32> completed{0}; // since the last scan
    Atomic<bool> sleeping{false};
};

void bench_end_io(Bio& bio)
{
    auto* slot = static_cast<Slot*>(bio.private_data);
    slot->done.store(true, MemoryOrder::Release);
    Waiter& waiter = *slot->waiter;
    // Locked increment, then the load: pairs with the waiter's store of
    // `sleeping` before it tests `completed` (no lost wake-up).
    waiter.completed.fetch_add(1, MemoryOrder::SeqCst);
    if (waiter.sleeping.load(MemoryOrder::SeqCst))
        waiter.queue.wake_all();
}

struct Lcg {
    u64 state;
    u64 next()
    {
        state = state * 6364136223846793005ul + 1442695040888963407ul;
        return state >> 17;
    }
};


// Through blk-mq: `qd` bios in flight from this thread. Completed slots are
// found by scanning; all of them are resubmitted under one Plug (one dispatch
// and one doorbell per round, as io_uring submits a batch of SQEs). With
// `polled`, the bios go to the polled hardware queue and this thread reaps it
// (no interrupts: the cost of blk-mq itself, to compare with the raw loop).
void bench_blk_mq(BlockDevice& device, const BenchParams& p, bool polled, BenchResult& out)
{
    const u32 order = mm::order_for_bytes(p.block_bytes);
    auto* slots = static_cast<Slot*>(kzalloc(sizeof(Slot) * p.queue_depth));
    if (!slots)
        return;
    const u64 blocks = device.capacity_bytes() / p.block_bytes;
    const u32 cpu = current_cpu_index();
    Lcg random {0x1234};
    u64 next_block = 0;
    auto submit = [&](Slot& s) {
        const u64 block = p.random ? random.next() % blocks : next_block++ % blocks;
        s.vec = BioVec {s.page, 0, p.block_bytes};
        bio_init(s.bio, p.write ? BioOp::Write : BioOp::Read, block * (p.block_bytes / SECTOR_SIZE), &s.vec, 1);
        s.bio.device = &device;
        s.bio.flags = polled ? u32(BIO_POLLED) : 0u;
        s.bio.end_io = bench_end_io;
        s.bio.private_data = &s;
        s.done.store(false, MemoryOrder::Relaxed);
        s.submit_ns = clock_ns();
        submit_bio(s.bio);
    };
    static Waiter waiter;
    waiter.completed.store(0, MemoryOrder::Relaxed);
    u32 ready = 0;
    for (; ready < p.queue_depth; ready++) {
        slots[ready].waiter = &waiter;
        slots[ready].page = mm::alloc_pages(order);
        if (!slots[ready].page)
            break;
    }
    const u64 start = clock_ns();
    const u64 end = start + p.duration_ns;
    {
        Plug plug;
        for (u32 i = 0; i < ready; i++)
            submit(slots[i]);
    }
    u32 in_flight = ready;
    auto reap_round = [&] {
        waiter.completed.store(0u, MemoryOrder::SeqCst);
        bool progress = false;
        for (u32 i = 0; i < ready; i++) {
            Slot& s = slots[i];
            if (!s.page || !s.done.load(MemoryOrder::Acquire))
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
                s.done.store(false, MemoryOrder::Relaxed);
                mm::free_pages(s.page, order);
                s.page = nullptr;
                in_flight--;
            }
        }
        return progress;
    };
    while (in_flight) {
        bool progress;
        const u64 round_start = clock_ns();
        if (p.batch) {
            Plug plug;
            progress = reap_round();
        } else {
            progress = reap_round();
        }
        if (progress)
            out.submit_ns += clock_ns() - round_start;
        if (progress)
            continue;
        if (polled) {
            const u64 poll_start = clock_ns();
            const u32 reaped = poll(device, cpu);
            if (reaped)
                out.reap_ns += clock_ns() - poll_start;
            else
                sched::yield();
        } else if (p.spin) {
            sched::yield();
        } else {
            waiter.sleeping.store(true, MemoryOrder::SeqCst);
            wait_event(waiter.queue, [] { return waiter.completed.load(MemoryOrder::SeqCst) != 0; });
            waiter.sleeping.store(false, MemoryOrder::Relaxed);
        }
    }
    out.elapsed_ns = clock_ns() - start;
    kfree(slots);
}

struct QueueSnapshot {
    HwQueue::Counters blk;
    DriverQueueCounters driver;
};

QueueSnapshot snapshot(TagSet& set, HwQueue* hw)
{
    QueueSnapshot s {};
    if (hw)
        s.blk = hw->counters();
    if (BenchDriver* bench = set.config().bench)
        s.driver = bench->queue_counters(hw);
    return s;
}

// "1.23": value x 100 as a decimal with two places.
void format_hundredths(char* out, usize size, u64 hundredths)
{
    format_string(out, size, "%lu.%02lu", hundredths / 100, hundredths % 100);
}

void print_result(const char* device, const char* level, const BenchParams& p, const BenchResult& r,
                  const QueueSnapshot& before, const QueueSnapshot& after, bool has_hw)
{
    const u64 elapsed_us = max<u64>(1, r.elapsed_ns / 1000);
    const u64 iops = r.ios * 1'000'000 / elapsed_us;
    const u64 kbps = r.bytes * 1'000'000 / elapsed_us / 1000; // decimal kB/s
    log_raw("bench: %s %-8s %s bs=%u qd=%u: %lu IOPS, %lu.%02lu MB/s, lat p50 %lu us p99 %lu us p99.9 %lu us"
            " (%lu I/Os, %lu errors, %lu ms)\n",
            device, level, p.random ? (p.write ? "randwrite" : "randread") : (p.write ? "write" : "read"),
            p.block_bytes, p.queue_depth, iops, kbps / 1000, (kbps % 1000) / 10, r.latency.percentile(500) / 1000,
            r.latency.percentile(990) / 1000, r.latency.percentile(999) / 1000, r.ios, r.errors,
            r.elapsed_ns / 1'000'000);
    const u64 ios = max<u64>(1, r.ios);
    char irq[16], sqdb[16], cqdb[16], per_batch[16];
    format_hundredths(irq, sizeof(irq), (after.driver.interrupts - before.driver.interrupts) * 100 / ios);
    format_hundredths(sqdb, sizeof(sqdb),
                      (after.driver.submission_doorbells - before.driver.submission_doorbells) * 100 / ios);
    format_hundredths(cqdb, sizeof(cqdb),
                      (after.driver.completion_doorbells - before.driver.completion_doorbells) * 100 / ios);
    const u64 batches = after.blk.batches - before.blk.batches;
    format_hundredths(per_batch, sizeof(per_batch),
                      batches ? (after.blk.dispatched - before.blk.dispatched) * 100 / batches : 0);
    if (!after.driver.counted) {
        const char* na = "n/a";
        memcpy(irq, na, 4);
        memcpy(sqdb, na, 4);
        memcpy(cqdb, na, 4);
    }
    log_raw("bench: %s %-8s per I/O: %s interrupts, %s SQ doorbell writes, %s CQ doorbell writes;"
            " %s requests per dispatch; submit %lu ns, reap+complete %lu ns\n",
            device, level, irq, sqdb, cqdb, has_hw ? per_batch : "-", r.submit_ns / ios, r.reap_ns / ios);
}

// Item `index` of the comma-separated `list` (empty past the end).
StringView list_item(StringView list, u32 index)
{
    usize begin = 0;
    for (u32 i = 0; begin <= list.length(); i++) {
        usize end = begin;
        while (end < list.length() && list.chars()[end] != ',')
            end++;
        if (i == index)
            return list.substring(begin, end - begin);
        begin = end + 1;
    }
    return StringView();
}

bool list_has(StringView list, const char* word)
{
    for (u32 i = 0;; i++) {
        StringView item = list_item(list, i);
        if (item.length() == 0)
            return false;
        if (item == StringView(word))
            return true;
    }
}

u64 parse_size(StringView text)
{
    u64 value = 0;
    usize i = 0;
    for (; i < text.length() && text.chars()[i] >= '0' && text.chars()[i] <= '9'; i++)
        value = value * 10 + static_cast<u64>(text.chars()[i] - '0');
    if (i < text.length()) {
        const char unit = text.chars()[i];
        if (unit == 'k' || unit == 'K')
            value *= 1024;
        else if (unit == 'm' || unit == 'M')
            value *= 1024 * 1024;
    }
    return value;
}

struct BenchJob {
    const CommandLine* command_line;
    bool ok;
};

void run_one(BlockDevice& device, const BenchParams& p, StringView levels)
{
    TagSet& set = device.tag_set();
    const u32 cpu = current_cpu_index();
    static BenchResult result;
    BenchResult* blk_result = nullptr;
    static BenchResult blk_saved;
    if (list_has(levels, "blk")) {
        HwQueue* hw = &set.hw_queue_for_cpu(cpu, false);
        result = BenchResult {};
        const QueueSnapshot before = snapshot(set, hw);
        bench_blk_mq(device, p, false, result);
        print_result(device.name(), "blk-mq", p, result, before, snapshot(set, hw), true);
        blk_saved = result;
        blk_result = &blk_saved;
    }
    if (list_has(levels, "poll") && set.poll_queue_count()) {
        HwQueue* hw = &set.hw_queue_for_cpu(cpu, true);
        result = BenchResult {};
        const QueueSnapshot before = snapshot(set, hw);
        bench_blk_mq(device, p, true, result);
        print_result(device.name(), "blk-poll", p, result, before, snapshot(set, hw), true);
    }
    if (list_has(levels, "raw")) {
        result = BenchResult {};
        const QueueSnapshot before = snapshot(set, nullptr);
        if (set.config().bench && set.config().bench->raw_benchmark(device, p, result)) {
            print_result(device.name(), "raw", p, result, before, snapshot(set, nullptr), false);
            if (blk_result) {
                const u64 blk_us = max<u64>(1, blk_result->elapsed_ns / 1000);
                const u64 raw_us = max<u64>(1, result.elapsed_ns / 1000);
                const u64 blk_iops = blk_result->ios * 1'000'000 / blk_us;
                const u64 raw_iops = max<u64>(1, result.ios * 1'000'000 / raw_us);
                log_raw("bench: %s qd=%u blk-mq/raw IOPS ratio %lu%%\n", device.name(), p.queue_depth,
                        blk_iops * 100 / raw_iops);
            }
        } else {
            log_raw("bench: %s has no raw queue loop\n", device.name());
        }
    }
}

void bench_thread(void* argument)
{
    auto& job = *static_cast<BenchJob*>(argument);
    const CommandLine& command_line = *job.command_line;
    BenchParams p;
    p.block_bytes = static_cast<u32>(parse_size(command_line.get("bs", "4k")));
    p.duration_ns = command_line.get_u64("secs", 5) * 1'000'000'000ul;
    p.batch = command_line.get_u64("batch", 1) != 0;
    p.spin = command_line.get("wait", "sleep") == StringView("spin");
    const StringView pattern = command_line.get("pattern", "randread");
    p.random = pattern == StringView("randread") || pattern == StringView("randwrite");
    p.write = pattern == StringView("randwrite") || pattern == StringView("write");
    const StringView devices = command_line.get("dev", "nvme0n1");
    const StringView depths = command_line.get("qd", "32");
    const StringView levels = command_line.get("level", "blk,poll,raw");
    log_raw("bench: cpu %u, %u CPUs online, levels %.*s, %s resubmission, blk-mq waits by %s\n", current_cpu_index(),
            sched::cpu_count(), static_cast<int>(levels.length()), levels.chars(),
            p.batch ? "batched (plug)" : "one at a time", p.spin ? "spinning" : "sleeping");
    job.ok = true;
    for (u32 d = 0;; d++) {
        const StringView name = list_item(devices, d);
        if (name.length() == 0)
            break;
        BlockDevice* device = find_device(name);
        if (!device || p.block_bytes == 0 || p.block_bytes % device->limits().logical_block_size ||
            p.block_bytes > 1 * MiB) {
            log_error("bench", "bad device or block size (dev=%.*s bs=%u)", static_cast<int>(name.length()),
                      name.chars(), p.block_bytes);
            job.ok = false;
            continue;
        }
        for (u32 q = 0;; q++) {
            const StringView depth = list_item(depths, q);
            if (depth.length() == 0)
                break;
            p.queue_depth = static_cast<u32>(min<u64>(256, max<u64>(1, parse_size(depth))));
            run_one(*device, p, levels);
        }
    }
    log_raw("bench: done\n");
}

} // namespace

bool run_benchmark(const CommandLine& command_line)
{
    // One submitting thread on CPU 0, so the hardware queue (and its
    // interrupt CPU) is the same for every run.
    static BenchJob job;
    job = BenchJob {&command_line, false};
    auto thread = Thread::create("bench", bench_thread, &job, ThreadOptions {.pin_cpu = 0});
    if (thread.is_error())
        return false;
    thread.value()->start();
    thread.value()->join();
    return job.ok;
}

} // namespace block
