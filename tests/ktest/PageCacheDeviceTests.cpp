// ktest suite "pagecache_dev": the page cache over the real block devices
// (NVMe, virtio-blk) that QEMU attaches, through their block-device address
// spaces; device traffic is counted from the devices' diskstats. Without a
// device every test passes vacuously (ktest=all runs without disks);
// tests/qemu/pagecache_dev.py attaches them.
//
// Options: pc.dev=<name> restricts the run to one device.
#include "fs/pagecache/BlockDeviceMapping.h"
#include "fs/pagecache/Counters.h"
#include "fs/pagecache/DirectIo.h"
#include "fs/pagecache/PageCache.h"
#include "fs/pagecache/Reclaim.h"
#include "fs/pagecache/Writeback.h"
#include "kernel/block/BlockDevice.h"
#include "arch/x86_64/boot/BootInfo.h"
#include "kernel/lib/String.h"
#include "kernel/log/Log.h"
#include "kernel/mm/Heap.h"
#include "kernel/mm/PageAllocator.h"
#include "kernel/sched/Scheduler.h"
#include "kernel/time/Clock.h"
#include "tests/ktest/Ktest.h"

using namespace pagecache;

namespace {

template <typename Fn>
void for_each_test_device(Fn&& fn)
{
    StringView only = boot_info().command_line.get("pc.dev");
    for (usize i = 0; i < block::device_count(); i++) {
        block::BlockDevice* device = block::device_at(i);
        if (only.length() && StringView(device->name()) != only)
            continue;
        if (device->read_only())
            continue;
        auto space = block_device_mapping(*device);
        if (space.is_error())
            continue;
        fn(*device, *space.value());
    }
}

block::DiskStatsSnapshot stats(block::BlockDevice& device) { return device.stats().snapshot(); }

// Wait until the device has nothing in flight: the last page of a sequential
// pass starts an asynchronous readahead past it, whose request completes (and
// is counted) a little later.
void wait_until_idle(block::BlockDevice& device)
{
    const u64 give_up_ns = clock_ns() + 5'000'000'000ul;
    while (device.stats().in_flight() != 0 && clock_ns() < give_up_ns)
        sched::sleep_for(1'000'000);
}
u64 reads_of(const block::DiskStatsSnapshot& s) { return s.ios[static_cast<u32>(block::StatGroup::Read)]; }
u64 read_sectors_of(const block::DiskStatsSnapshot& s) { return s.sectors[static_cast<u32>(block::StatGroup::Read)]; }

// Start from a cold cache: written back, then dropped.
void cold(Mapping& space)
{
    (void)write_and_wait_range(space, 0, ~0ul);
    truncate_pages(space, 0);
    space.set_size_bytes(static_cast<block::BlockDevice*>(space.host())->capacity_bytes());
}

u8 byte_at(u64 offset, u8 seed) { return static_cast<u8>((offset * 131) ^ (offset >> 11) ^ seed); }

struct KBuffer {
    u8* bytes;
    explicit KBuffer(usize size) : bytes(static_cast<u8*>(kmalloc(size))) { }
    ~KBuffer() { kfree(bytes); }
    KBuffer(const KBuffer&) = delete;
    KBuffer& operator=(const KBuffer&) = delete;
};

} // namespace

KTEST(pagecache_dev, sequential_read_is_few_large_requests_and_rereads_are_free)
{
    for_each_test_device([&](block::BlockDevice& device, Mapping& space) {
        cold(space);
        constexpr u64 LENGTH = 4 * MiB; // kmalloc's largest block
        KBuffer buffered(LENGTH);
        KASSERT(buffered.bytes);
        ReadaheadState ra;
        const auto before = stats(device);
        for (u64 at = 0; at < LENGTH; at += 4096) {
            auto n = buffered_read(space, &ra, at, buffered.bytes + at, 4096);
            KASSERT(!n.is_error() && n.value() == 4096);
        }
        wait_until_idle(device);
        const auto after = stats(device);
        const u64 requests = reads_of(after) - reads_of(before);
        const u64 sectors = read_sectors_of(after) - read_sectors_of(before);
        log_info("ktest", "%s: sequential 4 MiB buffered read in 4 KiB reads: %lu device reads, %lu KiB average",
                 device.name(), requests, requests ? sectors / 2 / requests : 0);
        KEXPECT(requests > 0);
        KEXPECT(requests <= LENGTH / PAGE_SIZE / 8);
        // A second pass over the cached range does not touch the device.
        ReadaheadState ra2;
        for (u64 at = 0; at < LENGTH; at += 64 * KiB) {
            auto n = buffered_read(space, &ra2, at, buffered.bytes + at, 64 * KiB);
            KASSERT(!n.is_error());
        }
        KEXPECT_EQ(reads_of(stats(device)), reads_of(after));
        // The cache's view equals the device's (O_DIRECT, which writes back
        // nothing here since nothing is dirty).
        KBuffer direct(LENGTH);
        auto d = direct_read(space, 0, direct.bytes, LENGTH);
        KASSERT(!d.is_error() && d.value() == LENGTH);
        KEXPECT_EQ(memcmp(direct.bytes, buffered.bytes, LENGTH), 0);
    });
}

KTEST(pagecache_dev, random_reads_read_only_what_is_asked)
{
    for_each_test_device([&](block::BlockDevice& device, Mapping& space) {
        cold(space);
        ReadaheadState ra;
        const auto before = stats(device);
        u64 state = 99;
        u8 buffer[512];
        constexpr u64 READS = 64;
        const u64 pages = device.capacity_bytes() / PAGE_SIZE;
        for (u64 i = 0; i < READS; i++) {
            state = state * 6364136223846793005ul + 1442695040888963407ul;
            const u64 index = ((state >> 33) % (pages / 3)) * 3;
            KASSERT(!buffered_read(space, &ra, index * PAGE_SIZE, buffer, sizeof(buffer)).is_error());
        }
        const u64 sectors = read_sectors_of(stats(device)) - read_sectors_of(before);
        log_info("ktest", "%s: %lu random 512-byte reads: %lu KiB from the device", device.name(), READS, sectors / 2);
        KEXPECT(sectors * 512 <= READS * PAGE_SIZE * 5 / 4);
    });
}

KTEST(pagecache_dev, write_fsync_reread_and_direct_coherence)
{
    KTEST_REQUIRE_OPTION("ktest.scratch_disks", "disks that keep what is written (tests/qemu/pagecache_dev.py)");
    for_each_test_device([&](block::BlockDevice& device, Mapping& space) {
        cold(space);
        constexpr u64 OFFSET = 16 * MiB + 512 * 3, LENGTH = 2 * MiB + 1234;
        KBuffer data(LENGTH), check(LENGTH + 2 * PAGE_SIZE);
        for (u64 i = 0; i < LENGTH; i++)
            data.bytes[i] = byte_at(OFFSET + i, 0x21);
        u64 done = 0;
        while (done < LENGTH) {
            const u64 piece = min<u64>(LENGTH - done, 7777);
            auto n = buffered_write(space, OFFSET + done, data.bytes + done, piece);
            KASSERT(!n.is_error() && n.value() == piece);
            done += piece;
        }
        const u64 flushes = stats(device).ios[static_cast<u32>(block::StatGroup::Flush)];
        KASSERT(!fsync_range(space, OFFSET, OFFSET + LENGTH - 1).is_error());
        if (device.limits().write_cache)
            KEXPECT(stats(device).ios[static_cast<u32>(block::StatGroup::Flush)] > flushes);
        // On the device: read it with O_DIRECT (aligned superset of the range).
        const u64 lbs = device.limits().logical_block_size;
        const u64 first = OFFSET & ~(lbs - 1);
        const u64 span = ((OFFSET + LENGTH + lbs - 1) & ~(lbs - 1)) - first;
        u8* aligned = reinterpret_cast<u8*>((reinterpret_cast<uptr>(check.bytes) + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1));
        auto d = direct_read(space, first, aligned, span);
        KASSERT(!d.is_error() && d.value() == span);
        KEXPECT_EQ(memcmp(aligned + (OFFSET - first), data.bytes, LENGTH), 0);
        // Cold cache, read back buffered.
        cold(space);
        ReadaheadState ra;
        auto r = buffered_read(space, &ra, OFFSET, check.bytes, LENGTH);
        KASSERT(!r.is_error() && r.value() == LENGTH);
        KEXPECT_EQ(memcmp(check.bytes, data.bytes, LENGTH), 0);
        // Misaligned O_DIRECT is refused, as Linux does.
        KEXPECT_EQ(direct_read(space, first + 1, aligned, lbs).error().code(), EINVAL);
        KEXPECT_EQ(direct_read(space, first, aligned + 1, lbs).error().code(), EINVAL);
        KEXPECT_EQ(direct_write(space, first, aligned, lbs + 1).error().code(), EINVAL);
        // A direct write is seen by the (cached) buffered view.
        for (u64 i = 0; i < PAGE_SIZE; i++)
            aligned[i] = byte_at(i, 0x77);
        KASSERT(!direct_write(space, 16 * MiB, aligned, PAGE_SIZE).is_error());
        u8 page[PAGE_SIZE];
        KASSERT(!buffered_read(space, &ra, 16 * MiB, page, PAGE_SIZE).is_error());
        KEXPECT_EQ(memcmp(page, aligned, PAGE_SIZE), 0);
    });
}

KTEST(pagecache_dev, writers_are_throttled_at_the_hard_limit)
{
    for_each_test_device([&](block::BlockDevice& device, Mapping& space) {
        cold(space);
        constexpr u64 BACKGROUND = 128, HARD = 256;
        set_dirty_limits_override(BACKGROUND, HARD);
        counter::reset_events();
        constexpr u64 LENGTH = 8 * MiB, CHUNK = 64 * KiB;
        KBuffer chunk(CHUNK);
        for (u64 i = 0; i < CHUNK; i++)
            chunk.bytes[i] = byte_at(i, 0x33);
        const u64 start = clock_ns();
        for (u64 at = 32 * MiB; at < 32 * MiB + LENGTH; at += CHUNK)
            KASSERT(!buffered_write(space, at, chunk.bytes, CHUNK).is_error());
        KASSERT(!fsync_range(space, 32 * MiB, 32 * MiB + LENGTH - 1).is_error());
        const Counters c = counters();
        set_dirty_limits_override(0, 0);
        log_info("ktest", "%s: 8 MiB buffered write + fsync in %lu ms; max dirty+writeback %lu (hard %lu), throttled %lu",
                 device.name(), (clock_ns() - start) / 1'000'000, c.max_dirty_seen, HARD, c.throttled);
        KEXPECT(c.max_dirty_seen <= HARD + 2);
        KEXPECT(c.throttled > 0);
    });
}

// The whole device (sized by the scenario to about four times RAM) written
// and read back through the cache: ktest=pagecache_dev_pressure pc.dev=nvme0n1.
KTEST(pagecache_dev_pressure, device_larger_than_ram_round_trip)
{
    for_each_test_device([&](block::BlockDevice& device, Mapping& space) {
        cold(space);
        const u64 size = device.capacity_bytes() & ~(MiB - 1);
        const u64 ram = mm::page_counters().total * PAGE_SIZE;
        constexpr u64 CHUNK = 256 * KiB;
        KBuffer buffer(CHUNK);
        KASSERT(buffer.bytes);
        counter::reset_events();
        auto word = [](u64 offset) { return (offset >> 3) * 0x9e3779b97f4a7c15ul ^ 0xfeedul; };
        const u64 start = clock_ns();
        for (u64 at = 0; at < size; at += CHUNK) {
            u64* words = reinterpret_cast<u64*>(buffer.bytes);
            for (u64 i = 0; i < CHUNK / 8; i++)
                words[i] = word(at + i * 8);
            KASSERT(!buffered_write(space, at, buffer.bytes, CHUNK).is_error());
        }
        KASSERT(!fsync_range(space, 0, size - 1).is_error());
        const u64 write_ms = (clock_ns() - start) / 1'000'000;
        ReadaheadState ra;
        u64 bad = 0;
        for (u64 at = 0; at < size; at += CHUNK) {
            KASSERT(!buffered_read(space, &ra, at, buffer.bytes, CHUNK).is_error());
            const u64* words = reinterpret_cast<const u64*>(buffer.bytes);
            for (u64 i = 0; i < CHUNK / 8; i++)
                bad += words[i] != word(at + i * 8);
        }
        const Counters c = counters();
        log_info("ktest", "%s: %lu MiB (RAM %lu MiB) written in %lu ms, read back in %lu ms, %lu pages reclaimed",
                 device.name(), size / MiB, ram / MiB, write_ms, (clock_ns() - start) / 1'000'000 - write_ms,
                 c.reclaimed);
        KEXPECT_EQ(bad, 0ul);
        KEXPECT(size < 2 * ram || c.reclaimed > 0);
        cold(space);
    });
}
