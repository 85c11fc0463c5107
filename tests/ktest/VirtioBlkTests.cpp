// ktest suite "virtio_blk": the virtio-blk driver on the real device QEMU
// attaches (-device virtio-blk-pci). Every test passes trivially, saying so,
// when no virtio disk is present. Nothing is left changed on the disk: writes
// go over data read first and are undone (and flushed) at the end.
#include "arch/x86_64/PerCpu.h"
#include "drivers/virtio/Features.h"
#include "drivers/virtio/blk/VirtioBlk.h"
#include "kernel/block/Bench.h"
#include "kernel/block/BlkMq.h"
#include "kernel/block/BlockDevice.h"
#include "arch/x86_64/boot/BootInfo.h"
#include "kernel/irq/Irq.h"
#include "kernel/lib/Atomic.h"
#include "kernel/lib/Format.h"
#include "kernel/lib/String.h"
#include "kernel/log/Log.h"
#include "kernel/mm/PageAllocator.h"
#include "kernel/sched/Scheduler.h"
#include "kernel/sched/Thread.h"
#include "kernel/time/Clock.h"
#include "tests/ktest/Ktest.h"

using namespace block;
using virtio::blk::Disk;
using virtio::blk::Queue;

namespace {

Disk* disk_or_skip(const char* test)
{
    Disk* disk = virtio::blk::disk_at(0);
    if (!disk)
        log_raw("ktest: virtio_blk.%s: no virtio-blk device, nothing to check\n", test);
    return disk;
}

struct Pages {
    Page* page = nullptr;
    unsigned order = 0;

    explicit Pages(unsigned page_order)
        : order(page_order)
    {
        page = mm::alloc_pages(order, mm::ALLOC_ZERO);
    }
    ~Pages()
    {
        if (page)
            mm::free_pages(page, order);
    }
    u8* bytes() const { return static_cast<u8*>(mm::page_address(page)); }
    usize size() const { return PAGE_SIZE << order; }
};

int run_sync(BlockDevice& device, BioOp op, u64 sector, const BioVec* vecs, u16 count)
{
    Bio bio;
    bio_init(bio, op, sector, vecs, count);
    bio.device = &device;
    return submit_bio_wait(bio);
}

int flush(BlockDevice& device) { return run_sync(device, BioOp::Flush, 0, nullptr, 0); }

struct QueueTotals {
    u64 issued = 0, batches = 0, notifications = 0, completed = 0, interrupts = 0;
};

QueueTotals totals(Disk& disk)
{
    QueueTotals t;
    for (u32 i = 0; i < disk.queue_count(); i++) {
        const auto& c = disk.queue(i).requests->counters();
        t.issued += c.issued;
        t.batches += c.batches;
        t.notifications += c.notifications;
        t.completed += c.completed;
        t.interrupts += disk.queue(i).interrupts.load(MemoryOrder::Relaxed);
    }
    return t;
}

u32 next_random(u32& state)
{
    state = state * 1664525u + 1013904223u;
    return state >> 8;
}

struct AsyncCounter {
    u32 done = 0;
    u32 errors = 0;
};

void count_end_io(Bio& bio)
{
    auto* counter = static_cast<AsyncCounter*>(bio.private_data);
    if (bio.status)
        AtomicRef(counter->errors).fetch_add(1u, MemoryOrder::Relaxed);
    AtomicRef(counter->done).fetch_add(1u, MemoryOrder::Release);
}

bool wait_for(const AsyncCounter& counter, u32 expected, u64 timeout_ns)
{
    const u64 deadline = clock_ns() + timeout_ns;
    while (AtomicRef(counter.done).load(MemoryOrder::Acquire) < expected) {
        if (clock_ns() > deadline)
            return false;
        sched::yield();
    }
    return true;
}

} // namespace

KTEST(virtio_blk, negotiated_only_implemented_features_and_registered)
{
    Disk* disk = disk_or_skip("negotiated_only_implemented_features_and_registered");
    if (!disk)
        return;
    KEXPECT(virtio::has_feature(disk->features(), virtio::FEATURE_VERSION_1));
    KEXPECT_EQ(disk->features() & ~virtio::blk::driver_features(), 0ul);
    KEXPECT(disk->queue_count() >= 1);
    KEXPECT(find_device("vda") == disk->block_device());
    BlockDevice& device = *disk->block_device();
    KEXPECT_EQ(device.capacity_sectors(), disk->info().capacity_sectors);
    KEXPECT_EQ(device.limits().logical_block_size, disk->info().logical_block_bytes);
    KEXPECT(device.limits().max_segments <= disk->info().max_segments);
    KEXPECT_EQ(device.tag_set().interrupt_queue_count(), disk->queue_count());
    for (u32 i = 0; i < disk->queue_count(); i++) {
        KEXPECT(!disk->queue(i).ring->is_broken());
        KEXPECT_EQ(disk->queue(i).ring->in_flight(), 0u);
    }
}

// Write a pattern through scattered, oddly placed buffers (multi-page vecs,
// offsets inside pages), flush, read it back through other buffers, compare,
// then put the original data back.
KTEST(virtio_blk, write_flush_read_back_and_restore)
{
    KTEST_REQUIRE_OPTION("ktest.scratch_disks", "a virtio-blk disk that keeps what is written (tests/qemu/virtio_blk.py)");
    Disk* disk = disk_or_skip("write_flush_read_back_and_restore");
    if (!disk)
        return;
    BlockDevice& device = *disk->block_device();
    if (device.read_only()) {
        log_raw("ktest: virtio_blk: read-only device, write test skipped\n");
        return;
    }
    const u32 bytes = 96 * 1024;
    KASSERT(device.capacity_sectors() >= 2 * (bytes / SECTOR_SIZE));
    const u64 sector = align_down(device.capacity_sectors() / 2, u64(8));
    Pages original(5), pattern(5), readback(5); // 128 KiB each
    KASSERT(original.page && pattern.page && readback.page);

    BioVec whole{ original.page, 0, bytes };
    KASSERT(run_sync(device, BioOp::Read, sector, &whole, 1) == 0);

    for (u32 i = 0; i < bytes; i++)
        pattern.bytes()[512 + i] = u8(i * 31 + (i >> 9) + 7);
    // Vecs: 512 into the buffer, of 3.5 KiB, 20 KiB (crossing pages), then the rest.
    BioVec write_vecs[] = {
        { pattern.page, 512, 3584 },
        { pattern.page, 512 + 3584, 20480 },
        { pattern.page, 512 + 3584 + 20480, bytes - 3584 - 20480 },
    };
    KEXPECT_EQ(run_sync(device, BioOp::Write, sector, write_vecs, 3), 0);
    KEXPECT_EQ(flush(device), 0);

    // 4 KiB pieces, every other one shifted by 512 bytes off the page grid.
    BioVec read_vecs[24];
    u32 offset = 0;
    for (u32 i = 0; i < 24; i++) {
        read_vecs[i] = { readback.page, offset, 4096 };
        offset += 4096 + (i % 2 ? 512 : 0);
    }
    KASSERT(offset <= readback.size());
    KEXPECT_EQ(run_sync(device, BioOp::Read, sector, read_vecs, 24), 0);
    u32 mismatches = 0;
    for (u32 i = 0, at = 0; i < 24; i++) {
        if (memcmp(readback.bytes() + read_vecs[i].offset, pattern.bytes() + 512 + at, 4096) != 0)
            mismatches++;
        at += 4096;
    }
    KEXPECT_EQ(mismatches, 0u);

    KEXPECT_EQ(run_sync(device, BioOp::Write, sector, &whole, 1), 0);
    KEXPECT_EQ(flush(device), 0);
}

// Many reads in flight at once, of random sizes and places, merged and
// batched by a plug: every byte must match one big synchronous read of the
// same region; completions arrive by interrupt; the device is notified fewer
// times than requests are issued (one notify per batch at most, none when
// the device said it is still working: event index).
KTEST(virtio_blk, concurrent_random_reads_verified_with_batched_notifications)
{
    Disk* disk = disk_or_skip("concurrent_random_reads_verified_with_batched_notifications");
    if (!disk)
        return;
    BlockDevice& device = *disk->block_device();
    constexpr u32 REGION_BYTES = 1 * MiB;
    // Stay clear of a sector an injected-error scenario makes fail.
    const u64 bad = boot_info().command_line.get_u64("virtio_blk.eio_sector", ~0ul);
    const u64 region = bad < REGION_BYTES / SECTOR_SIZE ? align_up(bad + 1, u64(8)) : 0;
    KASSERT(device.capacity_sectors() >= region + REGION_BYTES / SECTOR_SIZE);
    Pages reference(8); // 1 MiB
    KASSERT(reference.page);
    BioVec whole{ reference.page, 0, REGION_BYTES };
    KASSERT(run_sync(device, BioOp::Read, region, &whole, 1) == 0);

    constexpr u32 COUNT = 48;
    static Bio bios[COUNT];
    static BioVec vecs[COUNT];
    Pages target(8); // room for every read, each in its own slice
    KASSERT(target.page);
    AsyncCounter counter;
    u32 random = 12345;
    u32 offsets[COUNT];
    const QueueTotals before = totals(*disk);
    {
        Plug plug;
        u32 buffer_offset = 0;
        for (u32 i = 0; i < COUNT; i++) {
            const u32 sectors = 1 + next_random(random) % 32; // 512 B .. 16 KiB
            const u64 sector = next_random(random) % (REGION_BYTES / SECTOR_SIZE - sectors);
            vecs[i] = { target.page, buffer_offset, sectors * SECTOR_SIZE };
            offsets[i] = u32(sector * SECTOR_SIZE);
            buffer_offset += sectors * SECTOR_SIZE;
            bio_init(bios[i], BioOp::Read, region + sector, &vecs[i], 1);
            bios[i].device = &device;
            bios[i].end_io = count_end_io;
            bios[i].private_data = &counter;
            submit_bio(bios[i], &plug);
        }
    }
    KASSERT(wait_for(counter, COUNT, 10'000'000'000ul));
    KEXPECT_EQ(counter.errors, 0u);
    u32 mismatches = 0;
    for (u32 i = 0; i < COUNT; i++) {
        if (memcmp(target.bytes() + vecs[i].offset, reference.bytes() + offsets[i], vecs[i].length) != 0)
            mismatches++;
    }
    KEXPECT_EQ(mismatches, 0u);
    const QueueTotals after = totals(*disk);
    const u64 issued = after.issued - before.issued;
    const u64 notifications = after.notifications - before.notifications;
    KEXPECT(issued >= 1);
    KEXPECT(notifications <= after.batches - before.batches);
    KEXPECT(notifications < COUNT);
    KEXPECT(after.interrupts > before.interrupts);
    log_raw("ktest: virtio_blk: %u bios -> %lu requests, %lu batches, %lu notifications, %lu interrupts\n",
        COUNT, issued, after.batches - before.batches, notifications, after.interrupts - before.interrupts);
}

// Requests the device would refuse never reach it.
KTEST(virtio_blk, bad_requests_rejected_before_the_device)
{
    Disk* disk = disk_or_skip("bad_requests_rejected_before_the_device");
    if (!disk)
        return;
    BlockDevice& device = *disk->block_device();
    Pages buffer(1);
    KASSERT(buffer.page);
    const QueueTotals before = totals(*disk);
    BioVec vec{ buffer.page, 0, 4096 };
    KEXPECT(run_sync(device, BioOp::Read, device.capacity_sectors(), &vec, 1) != 0); // past the end
    KEXPECT(run_sync(device, BioOp::Read, device.capacity_sectors() - 1, &vec, 1) != 0); // straddles it
    BioVec odd{ buffer.page, 3, 512 };
    KEXPECT_EQ(run_sync(device, BioOp::Read, 0, &odd, 1), EINVAL); // misaligned memory
    BioVec partial{ buffer.page, 0, 100 };
    KEXPECT_EQ(run_sync(device, BioOp::Read, 0, &partial, 1), EINVAL); // not a whole sector
    const QueueTotals after = totals(*disk);
    KEXPECT_EQ(after.issued, before.issued);
    if (device.read_only()) {
        KEXPECT_EQ(run_sync(device, BioOp::Write, 0, &vec, 1), EROFS);
        KEXPECT_EQ(totals(*disk).issued, before.issued);
    }
}

// With QEMU's blkdebug failing I/O at one sector (tests/qemu/blk_errors.py
// passes it as virtio_blk.eio_sector=N): the requests covering it complete
// with EIO, their neighbours succeed, and the queue keeps working.
KTEST(virtio_blk, injected_error_fails_only_its_request)
{
    Disk* disk = disk_or_skip("injected_error_fails_only_its_request");
    if (!disk)
        return;
    const u64 bad = boot_info().command_line.get_u64("virtio_blk.eio_sector", ~0ul);
    if (bad == ~0ul) {
        log_raw("ktest: virtio_blk: no virtio_blk.eio_sector=N, injected-error test skipped\n");
        return;
    }
    BlockDevice& device = *disk->block_device();
    KASSERT(bad >= 8 && bad + 8 < device.capacity_sectors());
    Pages buffer(0);
    KASSERT(buffer.page);
    BioVec vec{ buffer.page, 0, 4096 };
    const u64 block_start = align_down(bad, u64(8));
    KEXPECT_EQ(run_sync(device, BioOp::Read, block_start, &vec, 1), EIO);
    KEXPECT_EQ(run_sync(device, BioOp::Read, block_start - 8, &vec, 1), 0);
    KEXPECT_EQ(run_sync(device, BioOp::Read, block_start + 8, &vec, 1), 0);
    KEXPECT_EQ(run_sync(device, BioOp::Read, block_start, &vec, 1), EIO);
    KEXPECT_EQ(run_sync(device, BioOp::Write, block_start, &vec, 1), EIO);
    log_raw("ktest: virtio_blk: %s: injected error at sector %lu: reads and a write covering it failed with EIO,"
        " neighbours read\n", device.name(), bad);
    for (u32 i = 0; i < disk->queue_count(); i++)
        KEXPECT(!disk->queue(i).ring->is_broken());
}

// Every read-only disk (QEMU readonly=on: VIRTIO_BLK_F_RO) refuses writes with
// EROFS before the device sees them, still reads, and still flushes. With
// virtio_blk.ro_seed=S the image is the host's test pattern
// (tests/qemu/blk_image.py): sector s starts with the words s and S.
KTEST(virtio_blk, read_only_disks_refuse_writes)
{
    u32 read_only = 0;
    for (u32 d = 0; d < virtio::blk::disk_count(); d++) {
        Disk& disk = *virtio::blk::disk_at(d);
        BlockDevice& device = *disk.block_device();
        KEXPECT_EQ(device.read_only(), virtio::has_feature(disk.features(), virtio::blk::FEATURE_RO));
        if (!device.read_only())
            continue;
        read_only++;
        Pages buffer(0);
        KASSERT(buffer.page);
        BioVec vec{ buffer.page, 0, 4096 };
        const QueueTotals before = totals(disk);
        KEXPECT_EQ(run_sync(device, BioOp::Write, 8, &vec, 1), EROFS);
        KEXPECT_EQ(run_sync(device, BioOp::Write, 0, &vec, 1), EROFS);
        KEXPECT_EQ(totals(disk).issued, before.issued);
        KEXPECT_EQ(run_sync(device, BioOp::Read, 8, &vec, 1), 0);
        const u64 seed = boot_info().command_line.get_u64("virtio_blk.ro_seed", 0);
        if (seed) {
            const auto* words = reinterpret_cast<const u64*>(buffer.bytes());
            KEXPECT_EQ(words[0], 8ul);
            KEXPECT_EQ(words[1], seed);
        }
        KEXPECT_EQ(flush(device), 0);
        log_raw("ktest: virtio_blk: %s is read-only: writes refused with EROFS\n", device.name());
    }
    if (!read_only)
        log_raw("ktest: virtio_blk: no read-only virtio disk, nothing to check\n");
}

namespace {

struct CpuReader {
    BlockDevice* device;
    u32 cpu;
    u32 errors;
};

void read_on_cpu(void* argument)
{
    auto& reader = *static_cast<CpuReader*>(argument);
    Pages buffer(0);
    if (!buffer.page) {
        reader.errors++;
        return;
    }
    BioVec vec{ buffer.page, 0, 4096 };
    for (u32 i = 0; i < 8; i++) {
        if (run_sync(*reader.device, BioOp::Read, u64(reader.cpu * 64 + i * 8), &vec, 1) != 0)
            reader.errors++;
    }
}

struct VectorCheck {
    Disk* disk;
    char prefix[24]; // "virtio0-req."
    u32 seen; // queue vectors named for this disk
    u32 fired_on_own_cpu;
    u32 fired_elsewhere;
};

} // namespace

// One request queue per CPU (as far as the device offers queues), queue i's
// MSI-X vector on CPU i: reads from a thread pinned to each CPU go through
// that CPU's queue, and its interrupt arrives on that CPU and no other.
namespace {
void check_queues_and_vectors(KtestContext& ktest_context, Disk* disk)
{
    const u32 cpus = sched::cpu_count();
    const u32 expected_queues = min<u32>(cpus, disk->info().num_queues);
    KEXPECT_EQ(disk->queue_count(), min<u32>(expected_queues, Disk::MAX_QUEUES));
    for (u32 i = 0; i < disk->queue_count(); i++)
        KEXPECT_EQ(disk->queue(i).cpu, i);
    u64 before[Disk::MAX_QUEUES];
    for (u32 i = 0; i < disk->queue_count(); i++)
        before[i] = disk->queue(i).interrupts.load(MemoryOrder::Relaxed);

    static CpuReader readers[MAX_CPUS];
    Thread* threads[MAX_CPUS] = {};
    for (u32 cpu = 0; cpu < cpus && cpu < MAX_CPUS; cpu++) {
        readers[cpu] = { disk->block_device(), cpu, 0 };
        auto thread = Thread::create("vblkcpu", read_on_cpu, &readers[cpu], ThreadOptions{ .pin_cpu = cpu });
        KASSERT(!thread.is_error());
        threads[cpu] = thread.release_value();
        threads[cpu]->start();
    }
    for (u32 cpu = 0; cpu < cpus && cpu < MAX_CPUS; cpu++) {
        threads[cpu]->join();
        KEXPECT_EQ(readers[cpu].errors, 0u);
    }
    for (u32 i = 0; i < disk->queue_count(); i++)
        KEXPECT(disk->queue(i).interrupts.load(MemoryOrder::Relaxed) > before[i]);

    // The per-CPU vector counters: "virtio0-req.i" counted only on CPU i.
    static VectorCheck check;
    check = VectorCheck{ disk, {}, 0, 0, 0 };
    format_string(check.prefix, sizeof(check.prefix), "%s-req.", disk->block_device()->tag_set().name());
    irq::for_each_named_vector(
        [](u32 cpu, u8, const char* name, u64 count, void* arg) {
            auto& c = *static_cast<VectorCheck*>(arg);
            const usize length = strlen(c.prefix);
            if (strncmp(name, c.prefix, length) != 0 || count == 0)
                return;
            u32 queue = 0;
            for (const char* p = name + length; *p >= '0' && *p <= '9'; p++)
                queue = queue * 10 + u32(*p - '0');
            c.seen++;
            if (queue < c.disk->queue_count() && c.disk->queue(queue).cpu == cpu)
                c.fired_on_own_cpu++;
            else
                c.fired_elsewhere++;
            log_raw("ktest: virtio_blk: %s fired %lu times on cpu %u\n", name, count, cpu);
        },
        &check);
    KEXPECT_EQ(check.fired_on_own_cpu, disk->queue_count());
    KEXPECT_EQ(check.fired_elsewhere, 0u);
}

} // namespace

KTEST(virtio_blk, one_queue_per_cpu_interrupting_on_its_cpu)
{
    if (!disk_or_skip("one_queue_per_cpu_interrupting_on_its_cpu"))
        return;
    for (u32 d = 0; d < virtio::blk::disk_count(); d++)
        check_queues_and_vectors(ktest_context, virtio::blk::disk_at(d));
}

// The benchmark's raw loop (RawBenchmark.cpp) runs a short burst on its
// queue - reserved or borrowed - without errors, and leaves every request
// queue working under blk-mq afterwards.
namespace {

void check_raw_loop(KtestContext& ktest_context, Disk* disk)
{
    BlockDevice& device = *disk->block_device();
    BenchParams params;
    params.queue_depth = 16;
    params.block_bytes = 4096;
    params.random = true;
    params.write = false;
    params.duration_ns = 200'000'000ul;
    static BenchResult result;
    result = BenchResult{};
    const QueueTotals before = totals(*disk);
    KASSERT(disk->raw_benchmark(device, params, result));
    KEXPECT(result.ios > 0);
    KEXPECT_EQ(result.errors, 0ul);
    KEXPECT_EQ(totals(*disk).issued, before.issued); // nothing went through blk-mq's queues' accounting
    for (u32 i = 0; i < disk->queue_count(); i++) {
        Queue& q = disk->queue(i);
        KEXPECT(q.owner == virtio::blk::QueueOwner::BlkMq);
        KEXPECT(q.ring->interrupts_enabled());
        KEXPECT_EQ(q.ring->in_flight(), 0u);
    }
    if (Queue* raw = disk->raw_queue())
        KEXPECT_EQ(raw->ring->in_flight(), 0u);
    // blk-mq still works on every queue, the borrowed one included.
    static CpuReader readers[MAX_CPUS];
    const u32 cpus = sched::cpu_count();
    Thread* threads[MAX_CPUS] = {};
    for (u32 cpu = 0; cpu < cpus && cpu < MAX_CPUS; cpu++) {
        readers[cpu] = { &device, cpu, 0 };
        auto thread = Thread::create("vblkraw", read_on_cpu, &readers[cpu], ThreadOptions{ .pin_cpu = cpu });
        KASSERT(!thread.is_error());
        threads[cpu] = thread.release_value();
        threads[cpu]->start();
    }
    for (u32 cpu = 0; cpu < cpus && cpu < MAX_CPUS; cpu++) {
        threads[cpu]->join();
        KEXPECT_EQ(readers[cpu].errors, 0u);
    }
    log_raw("ktest: virtio_blk: %s: raw loop %lu I/Os in %lu ms on %s queue\n", device.name(), result.ios,
        result.elapsed_ns / 1'000'000, disk->raw_queue() ? "its reserved" : "a borrowed");
}

} // namespace

KTEST(virtio_blk, raw_loop_runs_and_gives_the_queue_back)
{
    if (!disk_or_skip("raw_loop_runs_and_gives_the_queue_back"))
        return;
    // Its random reads would sooner or later hit an injected error.
    if (boot_info().command_line.has("virtio_blk.eio_sector")) {
        log_raw("ktest: virtio_blk: virtio_blk.eio_sector set, raw loop test skipped\n");
        return;
    }
    for (u32 d = 0; d < virtio::blk::disk_count(); d++)
        check_raw_loop(ktest_context, virtio::blk::disk_at(d));
}
