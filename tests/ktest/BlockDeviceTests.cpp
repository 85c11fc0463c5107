// ktest suites over real block devices (NVMe, virtio-blk), driven by the QEMU
// scenarios in tests/qemu. Every suite runs on each registered device, or on
// the one named by blk.dev=NAME; with no device attached they pass vacuously.
//
//   blk_device  non-destructive: bad bios rejected, reads work, flush works
//   blk_verify  random reads (512 B..1 MiB; ..32 KiB beyond depth 64) from a
//               thread per CPU at depth blk.qd (up to the device's queue
//               depth), every byte checked against the host-written image
//               (sector s holds s, blk.seed, then mix(s, seed, k)); then the
//               interrupt counters of every queue, each on its CPU
//   blk_write   writes the pattern for blk.seed2 over random ranges, flushes,
//               prints "blk_write: range <dev> <sector> <count>" for the host
//               to rebuild the expected image and cmp it after power-off
//   blk_errors  QEMU blkdebug fails I/O at blk.bad_sector: exactly the bios
//               covering it end with EIO (reads and a write), nothing hangs,
//               counters return
#include "arch/x86_64/PerCpu.h"
#include "drivers/nvme/Controller.h"
#include "drivers/virtio/blk/VirtioBlk.h"
#include "kernel/block/BlkMq.h"
#include "kernel/block/BlockDevice.h"
#include "arch/x86_64/boot/BootInfo.h"
#include "kernel/irq/Irq.h"
#include "kernel/lib/Atomic.h"
#include "kernel/lib/String.h"
#include "kernel/log/Log.h"
#include "kernel/mm/Heap.h"
#include "kernel/mm/PageAllocator.h"
#include "kernel/sched/Scheduler.h"
#include "kernel/sched/Thread.h"
#include "kernel/time/Clock.h"
#include "tests/ktest/Ktest.h"

using namespace block;

namespace {

u64 option(const char* key, u64 fallback) { return boot_info().command_line.get_u64(key, fallback); }

// Devices selected for the run.
template <typename Fn>
void for_each_selected_device(Fn&& fn)
{
    StringView only = boot_info().command_line.get("blk.dev");
    for (usize i = 0; i < device_count(); i++) {
        BlockDevice* device = device_at(i);
        if (only.length() && !(only == StringView(device->name())))
            continue;
        fn(*device);
    }
}

// The image format shared with tests/qemu/blk_image.py.
u64 pattern_word(u64 sector, u64 seed, u32 k)
{
    if (k == 0)
        return sector;
    if (k == 1)
        return seed;
    return (sector * 0x9E3779B97F4A7C15ul) ^ (seed + k * 0xBF58476D1CE4E5B9ul);
}

struct Random {
    u64 state;
    u64 next()
    {
        // xorshift64*
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        return state * 0x2545F4914F6CDD1Dul;
    }
    u64 below(u64 n) { return next() % n; }
};

constexpr u32 MAX_IO_BYTES = 1 * MiB;
// Deep queues (blk_verify beyond SHALLOW_DEPTH per thread) use smaller I/Os,
// so that a device's whole depth of buffers fits in the guest: up to 32 KiB,
// still more than two pages (PRP lists, several virtio segments).
constexpr u32 SHALLOW_DEPTH = 64;
constexpr u32 DEEP_IO_BYTES = 32 * KiB;

// One I/O in flight of up to IO_BYTES: its own scattered pages, so PRPs
// need lists.
template <u32 IO_BYTES>
struct SlotOf {
    static constexpr u32 MAX_BYTES = IO_BYTES;
    static constexpr u32 MAX_PAGES = IO_BYTES / PAGE_SIZE + 1; // + 1: the start offset into the first page
    Bio bio;
    BioVec vecs[MAX_PAGES];
    Page* pages[MAX_PAGES];
    u32 offset;
    bool done;

    bool init()
    {
        for (u32 i = 0; i < MAX_PAGES; i++) {
            pages[i] = mm::alloc_page();
            if (!pages[i])
                return false;
        }
        return true;
    }
    void release()
    {
        for (u32 i = 0; i < MAX_PAGES; i++)
            if (pages[i])
                mm::free_page(pages[i]);
    }
    // Describe `bytes` starting `offset` into the first page.
    void map(u32 start_offset, u32 bytes)
    {
        offset = start_offset;
        u16 count = 0;
        u32 in_page = start_offset;
        while (bytes) {
            const u32 length = min<u32>(bytes, PAGE_SIZE - in_page);
            vecs[count] = BioVec {pages[count], in_page, length};
            count++;
            bytes -= length;
            in_page = 0;
        }
        bio.vecs = vecs;
        bio.vec_count = count;
    }
    u8* byte_at(u32 index)
    {
        const u32 position = offset + index;
        return static_cast<u8*>(mm::page_address(pages[position / PAGE_SIZE])) + position % PAGE_SIZE;
    }
    u64 word_at(u32 byte_index)
    {
        u64 value;
        memcpy(&value, byte_at(byte_index), sizeof(value));
        return value;
    }
};

using Slot = SlotOf<MAX_IO_BYTES>;
using DeepSlot = SlotOf<DEEP_IO_BYTES>;

void slot_end_io(Bio& bio) { AtomicRef(*static_cast<bool*>(bio.private_data)).store(true, MemoryOrder::Release); }

template <typename SlotType>
void submit_slot(SlotType& slot, BlockDevice& device, BioOp op, u64 sector, u32 bytes, u32 offset)
{
    slot.done = false;
    slot.map(offset, bytes);
    bio_init(slot.bio, op, sector, slot.vecs, slot.bio.vec_count);
    slot.bio.device = &device;
    slot.bio.end_io = slot_end_io;
    slot.bio.private_data = &slot.done;
    submit_bio(slot.bio);
}

// Pick a random I/O: 512 B .. max_bytes in logical blocks, anywhere on the device.
void random_range(Random& random, BlockDevice& device, u64& sector, u32& bytes, u32& offset,
                  u32 max_bytes = MAX_IO_BYTES)
{
    const u32 lbs = device.limits().logical_block_size;
    const u32 lbs_sectors = lbs / SECTOR_SIZE;
    u32 blocks = 1 + static_cast<u32>(random.below(max_bytes / lbs));
    const u64 capacity_blocks = device.capacity_sectors() / lbs_sectors;
    if (blocks > capacity_blocks)
        blocks = static_cast<u32>(capacity_blocks);
    sector = random.below(capacity_blocks - blocks + 1) * lbs_sectors;
    bytes = blocks * lbs;
    offset = static_cast<u32>(random.below(PAGE_SIZE / 512)) * 512;
}

struct VerifyWorker {
    BlockDevice* device;
    u32 cpu;
    u32 depth;
    u64 seed;
    u64 deadline_ns;
    u64 ios = 0;
    u64 bytes = 0;
    u64 mismatches = 0;
    u64 errors = 0;
    u32 peak_tags = 0; // most tags seen in use on this CPU's hardware queue
    bool setup_failed = false;
};

template <typename SlotType>
void verify_reads(VerifyWorker& w)
{
    Random random {w.seed * 1000003 + w.cpu + 1};
    auto* slots = static_cast<SlotType*>(kzalloc(sizeof(SlotType) * w.depth));
    auto* sectors = static_cast<u64*>(kzalloc(sizeof(u64) * w.depth));
    if (!slots || !sectors) {
        w.setup_failed = true;
        kfree(slots);
        kfree(sectors);
        return;
    }
    u32 ready = 0;
    for (; ready < w.depth; ready++)
        if (!slots[ready].init())
            break;
    if (ready < w.depth) {
        w.setup_failed = true;
    } else {
        HwQueue& hw = w.device->tag_set().hw_queue_for_cpu(w.cpu, false);
        for (u32 i = 0; i < w.depth; i++) {
            u32 bytes, offset;
            random_range(random, *w.device, sectors[i], bytes, offset, SlotType::MAX_BYTES);
            submit_slot(slots[i], *w.device, BioOp::Read, sectors[i], bytes, offset);
            w.peak_tags = max(w.peak_tags, hw.tags_in_use());
        }
        u32 in_flight = w.depth;
        while (in_flight) {
            w.peak_tags = max(w.peak_tags, hw.tags_in_use());
            bool progress = false;
            for (u32 i = 0; i < w.depth; i++) {
                SlotType& slot = slots[i];
                if (!AtomicRef(slot.done).load(MemoryOrder::Acquire) || slot.bio.device == nullptr)
                    continue;
                progress = true;
                w.ios++;
                if (slot.bio.status) {
                    w.errors++;
                } else {
                    // The bio's iter was consumed by splitting: the range is sectors[i].
                    u32 total = 0;
                    for (u16 v = 0; v < slot.bio.vec_count; v++)
                        total += slot.vecs[v].length;
                    w.bytes += total;
                    for (u32 s = 0; s < total / SECTOR_SIZE; s++)
                        for (u32 k = 0; k < SECTOR_SIZE / 8; k++)
                            if (slot.word_at(s * SECTOR_SIZE + k * 8) != pattern_word(sectors[i] + s, w.seed, k))
                                w.mismatches++;
                }
                if (clock_ns() < w.deadline_ns) {
                    u32 bytes, offset;
                    random_range(random, *w.device, sectors[i], bytes, offset, SlotType::MAX_BYTES);
                    submit_slot(slot, *w.device, BioOp::Read, sectors[i], bytes, offset);
                } else {
                    slot.bio.device = nullptr;
                    in_flight--;
                }
            }
            if (!progress)
                sched::yield();
        }
    }
    for (u32 i = 0; i < ready; i++)
        slots[i].release();
    kfree(slots);
    kfree(sectors);
}

void verify_worker(void* argument)
{
    auto& w = *static_cast<VerifyWorker*>(argument);
    if (w.depth > SHALLOW_DEPTH)
        verify_reads<DeepSlot>(w);
    else
        verify_reads<Slot>(w);
}

struct IrqCheck {
    u32 fired_on_own_cpu;
    u32 queues;
};

} // namespace

KTEST(blk_device, rejects_bad_bios_reads_and_flushes)
{
    for_each_selected_device([&](BlockDevice& device) {
        Page* page = mm::alloc_page(mm::ALLOC_ZERO);
        KASSERT(page);
        const u32 lbs = device.limits().logical_block_size;
        BioVec vec {page, 0, lbs};
        Bio bio;
        bio_init(bio, BioOp::Read, device.capacity_sectors() - lbs / SECTOR_SIZE, &vec, 1);
        bio.device = &device;
        KEXPECT_EQ(submit_bio_wait(bio), 0);
        // Past the end: EIO, never sent.
        bio_init(bio, BioOp::Read, device.capacity_sectors(), &vec, 1);
        KEXPECT_EQ(submit_bio_wait(bio), EIO);
        // Length not a multiple of the logical block: EINVAL.
        BioVec odd {page, 0, lbs + 100};
        bio_init(bio, BioOp::Read, 0, &odd, 1);
        KEXPECT_EQ(submit_bio_wait(bio), EINVAL);
        // Memory misaligned for DMA: EINVAL.
        BioVec misaligned {page, 1, lbs};
        bio_init(bio, BioOp::Read, 0, &misaligned, 1);
        KEXPECT_EQ(submit_bio_wait(bio), EINVAL);
        // Flush.
        bio_init(bio, BioOp::Flush, 0, nullptr, 0);
        KEXPECT_EQ(submit_bio_wait(bio), 0);
        // Polled read (on the polled queue when the device has one).
        bio_init(bio, BioOp::Read, 0, &vec, 1);
        bio.flags = BIO_POLLED;
        KEXPECT_EQ(submit_bio_wait(bio), 0);
        mm::free_page(page);
        log_info("ktest", "%s: checks done", device.name());
    });
}

KTEST(blk_verify, random_reads_from_every_cpu)
{
    KTEST_REQUIRE_OPTION("blk.seed", "disks holding the seeded pattern of tests/qemu/blk_image.py");
    const u64 seed = option("blk.seed", 1);
    // Per thread, up to the device's queue depth (each thread's CPU maps to
    // its own hardware queue); beyond SHALLOW_DEPTH the I/Os are smaller.
    const u32 depth = static_cast<u32>(min<u64>(option("blk.qd", 8), MAX_TAGS));
    const u64 secs = option("blk.secs", 5);
    for_each_selected_device([&](BlockDevice& device) {
        const u32 cpus = sched::cpu_count();
        const u32 per_thread = max<u32>(1, min<u32>(depth, device.tag_set().config().queue_depth));
        static VerifyWorker workers[MAX_CPUS];
        Thread* threads[MAX_CPUS] = {};
        const u64 start = clock_ns();
        for (u32 cpu = 0; cpu < cpus; cpu++) {
            workers[cpu] = VerifyWorker {&device, cpu, per_thread, seed, start + secs * 1'000'000'000ul};
            auto t = Thread::create("blkverify", verify_worker, &workers[cpu], ThreadOptions {.pin_cpu = cpu});
            KASSERT(!t.is_error());
            threads[cpu] = t.release_value();
            threads[cpu]->start();
        }
        u64 ios = 0, bytes = 0;
        for (u32 cpu = 0; cpu < cpus; cpu++) {
            threads[cpu]->join();
            KEXPECT(!workers[cpu].setup_failed);
            KEXPECT_EQ(workers[cpu].mismatches, 0ul);
            KEXPECT_EQ(workers[cpu].errors, 0ul);
            KEXPECT(workers[cpu].ios > 0);
            log_info("ktest", "%s: cpu %u thread verified %lu reads, peak %u tags in use on its queue", device.name(),
                     cpu, workers[cpu].ios, workers[cpu].peak_tags);
            ios += workers[cpu].ios;
            bytes += workers[cpu].bytes;
        }
        const u64 elapsed_ms = max<u64>(1, (clock_ns() - start) / 1'000'000);
        log_info("ktest", "%s: verified %lu reads, %lu MiB, %u threads x depth %u (device %u), up to %u KiB, %lu ms,"
                 " scheduler %s",
                 device.name(), ios, bytes / MiB, cpus, per_thread, device.tag_set().config().queue_depth,
                 static_cast<u32>((per_thread > SHALLOW_DEPTH ? DEEP_IO_BYTES : MAX_IO_BYTES) / KiB), elapsed_ms,
                 device.tag_set().hw_queue(0).scheduler_name());
        TagSet& set = device.tag_set();
        u64 busy = 0;
        for (u32 q = 0; q < set.hw_queue_count(); q++) {
            KEXPECT_EQ(set.hw_queue(q).tags_in_use(), 0u);
            busy += set.hw_queue(q).counters().busy;
        }
        // How often the driver said "full" (each one a restart on completion).
        log_info("ktest", "%s: driver answered Busy %lu times", device.name(), busy);
        KEXPECT_EQ(device.stats().in_flight(), 0ul);
    });
    // Every named interrupt vector of a storage queue fired, on the CPU it
    // was bound to (the counters are per CPU).
    IrqCheck check {0, 0};
    irq::for_each_named_vector(
        [](u32 cpu, u8 vector, const char* name, u64 count, void* arg) {
            auto& c = *static_cast<IrqCheck*>(arg);
            if (strncmp(name, "nvme", 4) != 0 && strncmp(name, "virtio", 6) != 0)
                return;
            // Queue vectors only: a config-change vector fires only on a config change.
            const usize length = strlen(name);
            if (length >= 7 && strcmp(name + length - 7, "-config") == 0)
                return;
            c.queues++;
            if (count > 0)
                c.fired_on_own_cpu++;
            log_info("ktest", "irq %-12s cpu %u vector 0x%x: %lu", name, cpu, vector, count);
        },
        &check);
    KEXPECT_EQ(check.fired_on_own_cpu, check.queues);
}

KTEST(blk_write, pattern_over_ranges_then_flush)
{
    const u64 seed = option("blk.seed2", 2);
    const u32 ranges = static_cast<u32>(option("blk.ranges", 16));
    for_each_selected_device([&](BlockDevice& device) {
        Random random {seed * 7919 + 17};
        static Slot slot;
        KASSERT(slot.init());
        for (u32 r = 0; r < ranges; r++) {
            u64 sector;
            u32 bytes, offset;
            random_range(random, device, sector, bytes, offset);
            slot.map(offset, bytes);
            for (u32 s = 0; s < bytes / SECTOR_SIZE; s++)
                for (u32 k = 0; k < SECTOR_SIZE / 8; k++) {
                    const u64 word = pattern_word(sector + s, seed, k);
                    memcpy(slot.byte_at(s * SECTOR_SIZE + k * 8), &word, 8);
                }
            bio_init(slot.bio, BioOp::Write, sector, slot.vecs, slot.bio.vec_count);
            slot.bio.device = &device;
            KEXPECT_EQ(submit_bio_wait(slot.bio), 0);
            log_raw("blk_write: range %s %lu %u\n", device.name(), sector, bytes / SECTOR_SIZE);
        }
        Bio flush;
        bio_init(flush, BioOp::Flush, 0, nullptr, 0);
        flush.device = &device;
        KEXPECT_EQ(submit_bio_wait(flush), 0);
        slot.release();
        const DiskStatsSnapshot s = device.stats().snapshot();
        char line[200];
        format_diskstats_line(line, sizeof(line), device.major(), device.minor(), device.name(), s);
        log_raw("diskstats: %s", line);
        KEXPECT(s.ios[1] >= ranges);
        KEXPECT(s.ios[3] >= 1);
        log_info("ktest", "%s: wrote %u ranges and flushed through %s", device.name(), ranges,
                 device.tag_set().hw_queue(0).scheduler_name());
    });
}

KTEST(blk_errors, injected_errors_hit_only_their_bios)
{
    const u64 bad = option("blk.bad_sector", ~0ul);
    if (bad == ~0ul)
        return;
    for_each_selected_device([&](BlockDevice& device) {
        constexpr u32 N = 32;
        static Slot slots[N];
        for (u32 i = 0; i < N; i++)
            KASSERT(slots[i].init());
        auto run_round = [&](u32& failed, u32& expected_failures) {
            failed = expected_failures = 0;
            u64 sectors[N];
            // 4 KiB reads around the bad sector at 2 KiB steps: some cover it.
            for (u32 i = 0; i < N; i++) {
                const u64 sector = bad >= 64 ? bad - 64 + i * 4 : i * 4;
                sectors[i] = sector;
                if (sector <= bad && bad < sector + 8)
                    expected_failures++;
                submit_slot(slots[i], device, BioOp::Read, sector, 4096, 0);
            }
            const u64 deadline = clock_ns() + 20'000'000'000ul;
            for (u32 i = 0; i < N; i++) {
                while (!AtomicRef(slots[i].done).load(MemoryOrder::Acquire) && clock_ns() < deadline)
                    sched::yield();
                if (!slots[i].done)
                    return false;
                const u64 sector = sectors[i];
                const bool covers = sector <= bad && bad < sector + 8;
                if (slots[i].bio.status) {
                    failed++;
                    if (slots[i].bio.status != EIO || !covers)
                        return false;
                }
            }
            return true;
        };
        u32 failed = 0, expected = 0;
        KEXPECT(run_round(failed, expected)); // warm-up: pools grow here
        const mm::PageCounters pages_before = mm::page_counters();
        const u64 heap_before = mm::heap_allocated_bytes();
        KEXPECT(run_round(failed, expected));
        KEXPECT_EQ(failed, expected);
        KEXPECT(expected > 0);
        // A write covering the bad sector fails with EIO (blkdebug write_aio
        // rule); the block after it is read and written back unchanged, and
        // that write succeeds.
        BioVec vec {slots[0].pages[0], 0, 4096};
        Bio write;
        bio_init(write, BioOp::Write, bad & ~7ul, &vec, 1);
        write.device = &device;
        const int write_status = submit_bio_wait(write);
        KEXPECT_EQ(write_status, EIO);
        const u64 neighbour = (bad & ~7ul) + 8;
        Bio rewrite;
        bio_init(rewrite, BioOp::Read, neighbour, &vec, 1);
        rewrite.device = &device;
        KEXPECT_EQ(submit_bio_wait(rewrite), 0);
        bio_init(rewrite, BioOp::Write, neighbour, &vec, 1);
        rewrite.device = &device;
        KEXPECT_EQ(submit_bio_wait(rewrite), 0);
        KEXPECT_EQ(mm::page_counters().free, pages_before.free);
        KEXPECT_EQ(mm::heap_allocated_bytes(), heap_before);
        TagSet& set = device.tag_set();
        u64 busy = 0;
        for (u32 q = 0; q < set.hw_queue_count(); q++) {
            KEXPECT_EQ(set.hw_queue(q).tags_in_use(), 0u);
            busy += set.hw_queue(q).counters().busy;
        }
        // How often the driver said "full" (each one a restart on completion).
        log_info("ktest", "%s: driver answered Busy %lu times", device.name(), busy);
        log_info("ktest", "%s: %u of %u reads failed with EIO as injected; write %d", device.name(), failed, N,
                 write_status);
        for (u32 i = 0; i < N; i++)
            slots[i].release();
    });
}

// The request timeout path on a device that is really too slow: the QEMU
// scenario (tests/qemu/blk_timeout.py) throttles the NVMe drive to a few
// I/Os per second and boots with a short nvme.timeout_ms, so most of these
// reads stay in the device past their deadline. The tag set's timeout timer
// must notice them without any waiting thread asking, the driver must abort
// and then reset the controller, requeue what was in flight, and every read
// must then complete with the right data. Nothing leaks: tags, in-flight
// count, pages and heap are back where they started.
// Sleep until every slot's bio has ended or the timeout passes; how many ended.
static u32 wait_until_done(Slot* slots, u32 count, u64 timeout_ns)
{
    const u64 deadline = clock_ns() + timeout_ns;
    for (;;) {
        u32 done = 0;
        for (u32 i = 0; i < count; i++)
            done += AtomicRef(slots[i].done).load(MemoryOrder::Acquire);
        if (done == count || clock_ns() >= deadline)
            return done;
        sched::sleep_for(10'000'000);
    }
}

// The NVMe controller behind a block device, or null (virtio-blk, ...).
static nvme::Controller* nvme_controller_of(BlockDevice& device)
{
    for (usize c = 0; c < nvme::Controller::count(); c++)
        if (nvme::Controller::at(c)->tag_set() == &device.tag_set())
            return nvme::Controller::at(c);
    return nullptr;
}

KTEST(blk_timeout, slow_requests_complete_after_a_controller_reset)
{
    KTEST_REQUIRE_OPTION("nvme.drop_cqe", "a throttled, patterned NVMe disk with a lost completion (tests/qemu/blk_timeout.py)");
    const u64 seed = option("blk.seed", 1);
    for_each_selected_device([&](BlockDevice& device) {
        nvme::Controller* controller = nvme_controller_of(device);
        if (!controller) {
            log_info("ktest", "%s: not NVMe, skipped", device.name());
            return;
        }
        constexpr u32 N = 12;
        static Slot slots[N];
        for (u32 i = 0; i < N; i++)
            KASSERT(slots[i].init());
        TagSet& set = device.tag_set();
        const mm::PageCounters pages_before = mm::page_counters();
        const u64 heap_before = mm::heap_allocated_bytes();
        const u64 resets_before = controller->resets();
        const TagSet::TimeoutCounters timeouts_before = set.timeout_counters();
        const u64 start = clock_ns();

        Random random {seed * 31 + 7};
        static u64 sectors[N];
        for (u32 i = 0; i < N; i++)
            sectors[i] = random.below(device.capacity_sectors() / 8) * 8;
        // Submitted from a thread on every CPU, so every interrupt queue has
        // requests in the device when the controller is reset.
        struct Submitter {
            BlockDevice* device;
            u32 cpu, cpus;
        };
        static Submitter submitters[MAX_CPUS];
        const u32 cpus = sched::cpu_count();
        Thread* threads[MAX_CPUS] = {};
        for (u32 cpu = 0; cpu < cpus; cpu++) {
            submitters[cpu] = Submitter {&device, cpu, cpus};
            auto t = Thread::create("blktimeout", [](void* argument) {
                auto& s = *static_cast<Submitter*>(argument);
                for (u32 i = s.cpu; i < N; i += s.cpus)
                    submit_slot(slots[i], *s.device, BioOp::Read, sectors[i], 4096, 0);
            }, &submitters[cpu], ThreadOptions {.pin_cpu = cpu});
            KASSERT(!t.is_error());
            threads[cpu] = t.release_value();
            threads[cpu]->start();
        }
        for (u32 cpu = 0; cpu < cpus; cpu++)
            threads[cpu]->join();
        // A timeout that arrives for an earlier issue of a tag (the tag was
        // completed and issued again since the claim) must leave the command
        // now in flight alone: no abort, no reset (the generation check).
        {
            Request* in_flight = nullptr;
            u64 first_deadline = ~0ul;
            for (u32 q = 0; q < set.hw_queue_count(); q++)
                for (u32 tag = 0; tag < set.hw_queue(q).depth(); tag++) {
                    Request& request = set.hw_queue(q).request(tag);
                    if (request.state.load(MemoryOrder::Acquire) != RequestState::Issued)
                        continue;
                    in_flight = in_flight ? in_flight : &request;
                    const u64 deadline = request.timeout_deadline_ns.load(MemoryOrder::Relaxed);
                    if (deadline && deadline < first_deadline)
                        first_deadline = deadline;
                }
            // Before any request's deadline (the first is 300 ms away), so the
            // real timeout path cannot have aborted anything meanwhile; if the
            // guest stalled past it, the counts prove nothing and are skipped.
            if (in_flight && first_deadline > clock_ns()) {
                const u64 aborts = controller->aborts(), resets = controller->resets();
                const u32 stale = in_flight->generation.load(MemoryOrder::Acquire) - 1;
                KEXPECT(set.driver().timeout(*in_flight, stale) == TimeoutAction::Handled);
                if (clock_ns() < first_deadline) {
                    KEXPECT_EQ(controller->aborts(), aborts);
                    KEXPECT_EQ(controller->resets(), resets);
                }
                log_info("ktest", "%s: a timeout for an earlier issue of tag %u was ignored", device.name(),
                         in_flight->tag);
            }
        }
        // Nobody polls and nobody checks timeouts here: just wait.
        const u32 done = wait_until_done(slots, N, 60'000'000'000ul);
        KEXPECT_EQ(done, N);
        u32 mismatches = 0, errors = 0;
        for (u32 i = 0; i < N && done == N; i++) {
            if (slots[i].bio.status) {
                errors++;
                continue;
            }
            for (u32 s = 0; s < 8; s++)
                for (u32 k = 0; k < SECTOR_SIZE / 8; k++)
                    if (slots[i].word_at(s * SECTOR_SIZE + k * 8) != pattern_word(sectors[i] + s, seed, k))
                        mismatches++;
        }
        KEXPECT_EQ(errors, 0u);
        KEXPECT_EQ(mismatches, 0u);
        const TagSet::TimeoutCounters timeouts = set.timeout_counters();
        log_info("ktest", "%s: %u reads done in %lu ms; timer fired %lu times, %lu checks, %lu requests timed out,"
                 " %lu aborts, %lu controller resets",
                 device.name(), done, (clock_ns() - start) / 1'000'000, timeouts.timer_fired - timeouts_before.timer_fired,
                 timeouts.checks - timeouts_before.checks, timeouts.timed_out - timeouts_before.timed_out,
                 controller->aborts(), controller->resets() - resets_before);
        KEXPECT(timeouts.timed_out > timeouts_before.timed_out);
        KEXPECT(controller->resets() > resets_before);
        u32 queues_requeued = 0;
        const u64 requeued = controller->requeued(&queues_requeued);
        log_info("ktest", "%s: the reset requeued %lu requests from %u queues (%u CPUs)", device.name(), requeued,
                 queues_requeued, cpus);
        KEXPECT(requeued >= 1);
        // The device works normally afterwards.
        for (u32 i = 0; i < N; i++) {
            bio_init(slots[i].bio, BioOp::Read, sectors[i], slots[i].vecs, 1);
            slots[i].bio.device = &device;
            KEXPECT_EQ(submit_bio_wait(slots[i].bio), 0);
        }
        for (u32 q = 0; q < set.hw_queue_count(); q++)
            KEXPECT_EQ(set.hw_queue(q).tags_in_use(), 0u);
        KEXPECT_EQ(device.stats().in_flight(), 0ul);
        KEXPECT_EQ(mm::page_counters().free, pages_before.free);
        KEXPECT_EQ(mm::heap_allocated_bytes(), heap_before);
        for (u32 i = 0; i < N; i++)
            slots[i].release();
    });
}

// The virtio-blk timeout path (tests/qemu/blk_timeout.py --virtio): with
// virtio_blk.stall_after=N the interrupt handler stops reaping after N
// completions, as if the ring were broken, so the reads behind it can only
// end through the timeout path. The driver must reset the device, end what
// the device had finished, requeue the rest, and every read must complete
// with the right data; afterwards the disk works and nothing leaks.
static virtio::blk::Disk* virtio_disk_of(BlockDevice& device)
{
    for (u32 i = 0; i < virtio::blk::disk_count(); i++)
        if (virtio::blk::disk_at(i)->block_device() == &device)
            return virtio::blk::disk_at(i);
    return nullptr;
}

KTEST(virtio_blk_timeout, stalled_ring_ends_in_a_device_reset)
{
    KTEST_REQUIRE_OPTION("virtio_blk.stall_after", "a patterned virtio-blk disk whose ring stalls (tests/qemu/blk_timeout.py)");
    const u64 seed = option("blk.seed", 1);
    for_each_selected_device([&](BlockDevice& device) {
        virtio::blk::Disk* disk = virtio_disk_of(device);
        if (!disk) {
            log_info("ktest", "%s: not virtio-blk, skipped", device.name());
            return;
        }
        constexpr u32 N = 12;
        static Slot slots[N];
        for (u32 i = 0; i < N; i++)
            KASSERT(slots[i].init());
        TagSet& set = device.tag_set();
        const mm::PageCounters pages_before = mm::page_counters();
        const u64 heap_before = mm::heap_allocated_bytes();
        const u64 resets_before = disk->resets();
        const u64 start = clock_ns();
        Random random {seed * 17 + 3};
        static u64 sectors[N];
        for (u32 i = 0; i < N; i++)
            sectors[i] = random.below(device.capacity_sectors() / 8) * 8;
        struct Submitter {
            BlockDevice* device;
            u32 cpu, cpus;
        };
        static Submitter submitters[MAX_CPUS];
        const u32 cpus = sched::cpu_count();
        Thread* threads[MAX_CPUS] = {};
        for (u32 cpu = 0; cpu < cpus; cpu++) {
            submitters[cpu] = Submitter {&device, cpu, cpus};
            auto t = Thread::create("vtimeout", [](void* argument) {
                auto& s = *static_cast<Submitter*>(argument);
                for (u32 i = s.cpu; i < N; i += s.cpus)
                    submit_slot(slots[i], *s.device, BioOp::Read, sectors[i], 4096, 0);
            }, &submitters[cpu], ThreadOptions {.pin_cpu = cpu});
            KASSERT(!t.is_error());
            threads[cpu] = t.release_value();
            threads[cpu]->start();
        }
        for (u32 cpu = 0; cpu < cpus; cpu++)
            threads[cpu]->join();
        const u32 done = wait_until_done(slots, N, 30'000'000'000ul);
        KEXPECT_EQ(done, N);
        u32 mismatches = 0, errors = 0;
        for (u32 i = 0; i < N && done == N; i++) {
            if (slots[i].bio.status) {
                errors++;
                continue;
            }
            for (u32 s = 0; s < 8; s++)
                for (u32 k = 0; k < SECTOR_SIZE / 8; k++)
                    if (slots[i].word_at(s * SECTOR_SIZE + k * 8) != pattern_word(sectors[i] + s, seed, k))
                        mismatches++;
        }
        KEXPECT_EQ(errors, 0u);
        KEXPECT_EQ(mismatches, 0u);
        KEXPECT(disk->resets() > resets_before);
        KEXPECT(!disk->is_dead());
        log_info("ktest", "%s: %u reads done in %lu ms; %lu device resets, %lu requests requeued", device.name(),
                 done, (clock_ns() - start) / 1'000'000, disk->resets() - resets_before, disk->requeued());
        // The disk works normally afterwards.
        for (u32 i = 0; i < N; i++) {
            bio_init(slots[i].bio, BioOp::Read, sectors[i], slots[i].vecs, 1);
            slots[i].bio.device = &device;
            KEXPECT_EQ(submit_bio_wait(slots[i].bio), 0);
        }
        for (u32 q = 0; q < set.hw_queue_count(); q++)
            KEXPECT_EQ(set.hw_queue(q).tags_in_use(), 0u);
        KEXPECT_EQ(device.stats().in_flight(), 0ul);
        KEXPECT_EQ(mm::page_counters().free, pages_before.free);
        KEXPECT_EQ(mm::heap_allocated_bytes(), heap_before);
        for (u32 i = 0; i < N; i++)
            slots[i].release();
    });
}

// Run by tests/qemu/blk_timeout.py --fail-reset: the drive is throttled so
// reads time out, and nvme.fail_reset makes the controller reset fail. The
// controller is then dead: every read in flight, and every later one, ends
// with EIO - none waits forever - and tags, pages and heap come back.
KTEST(blk_dead_controller, failed_reset_fails_all_io_with_eio)
{
    KTEST_REQUIRE_OPTION("nvme.fail_reset", "controller resets that fail (tests/qemu/blk_timeout.py)");
    for_each_selected_device([&](BlockDevice& device) {
        nvme::Controller* controller = nvme_controller_of(device);
        if (!controller) {
            log_info("ktest", "%s: not NVMe, skipped", device.name());
            return;
        }
        constexpr u32 N = 8;
        static Slot slots[N];
        for (u32 i = 0; i < N; i++)
            KASSERT(slots[i].init());
        TagSet& set = device.tag_set();
        const mm::PageCounters pages_before = mm::page_counters();
        const u64 heap_before = mm::heap_allocated_bytes();
        for (u32 i = 0; i < N; i++)
            submit_slot(slots[i], device, BioOp::Read, u64(i) * 64, 4096, 0);
        const u32 done = wait_until_done(slots, N, 60'000'000'000ul);
        KEXPECT_EQ(done, N);
        u32 eio = 0;
        for (u32 i = 0; i < N && done == N; i++)
            eio += slots[i].bio.status == EIO;
        KEXPECT(controller->is_dead());
        // Reads that completed before the reset may have succeeded; the rest
        // must have failed with exactly EIO.
        u32 ok = 0;
        for (u32 i = 0; i < N && done == N; i++)
            ok += slots[i].bio.status == 0;
        KEXPECT_EQ(ok + eio, N);
        KEXPECT(eio > 0);
        // A dead controller answers at once.
        bio_init(slots[0].bio, BioOp::Read, 0, slots[0].vecs, 1);
        slots[0].bio.device = &device;
        KEXPECT_EQ(submit_bio_wait(slots[0].bio), EIO);
        log_info("ktest", "%s: controller dead after a failed reset: %u of %u reads failed with EIO, %u had completed;"
                 " a new read fails with EIO", device.name(), eio, N, ok);
        for (u32 q = 0; q < set.hw_queue_count(); q++)
            KEXPECT_EQ(set.hw_queue(q).tags_in_use(), 0u);
        KEXPECT_EQ(device.stats().in_flight(), 0ul);
        KEXPECT_EQ(mm::page_counters().free, pages_before.free);
        KEXPECT_EQ(mm::heap_allocated_bytes(), heap_before);
        for (u32 i = 0; i < N; i++)
            slots[i].release();
    });
}
