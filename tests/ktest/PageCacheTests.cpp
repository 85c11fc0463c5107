// ktest suites "pagecache" (against in-memory block devices that complete
// from a timer interrupt, tests/ktest/FakeDisk.h) and "pagecache_pressure"
// (a file four times the size of RAM, on a pattern device).
#include "fs/pagecache/BlockDeviceMapping.h"
#include "fs/pagecache/Counters.h"
#include "fs/pagecache/DirectIo.h"
#include "fs/pagecache/PageCache.h"
#include "fs/pagecache/PageWait.h"
#include "fs/pagecache/Reclaim.h"
#include "fs/pagecache/Writeback.h"
#include "kernel/lib/Atomic.h"
#include "kernel/log/Log.h"
#include "kernel/sched/Scheduler.h"
#include "kernel/sync/Completion.h"
#include "tests/ktest/FakeDisk.h"
#include "tests/ktest/Ktest.h"
#include "tests/ktest/ThreadTestUtil.h"

using namespace pagecache;
using fakedisk::FakeDisk;

namespace {

FakeDisk* g_mem_disk;
FakeDisk* g_slow_disk;

FakeDisk* mem_disk()
{
    if (!g_mem_disk) {
        fakedisk::Config config;
        config.name = "pcmem0";
        g_mem_disk = FakeDisk::create(config);
    }
    return g_mem_disk;
}

FakeDisk* slow_disk()
{
    if (!g_slow_disk) {
        fakedisk::Config config;
        config.name = "pcslow0";
        config.capacity_bytes = 32 * MiB;
        g_slow_disk = FakeDisk::create(config);
    }
    return g_slow_disk;
}

// The device's space, emptied (dirty data dropped) and sized to the device.
Mapping* fresh_space(FakeDisk* disk)
{
    if (!disk)
        return nullptr;
    auto space = block_device_mapping(disk->device());
    if (space.is_error())
        return nullptr;
    truncate_pages(*space.value(), 0);
    space.value()->set_size_bytes(disk->device().capacity_bytes());
    return space.value();
}

u8 byte_at(u64 offset, u8 seed) { return static_cast<u8>((offset * 31) ^ (offset >> 9) ^ seed); }

void fill(u8* buffer, u64 offset, u64 length, u8 seed)
{
    for (u64 i = 0; i < length; i++)
        buffer[i] = byte_at(offset + i, seed);
}

u64 mismatches(const u8* buffer, u64 offset, u64 length, u8 seed)
{
    u64 bad = 0;
    for (u64 i = 0; i < length; i++)
        bad += buffer[i] != byte_at(offset + i, seed);
    return bad;
}

struct KBuffer {
    u8* bytes;
    explicit KBuffer(usize size) : bytes(static_cast<u8*>(kmalloc(size))) { }
    ~KBuffer() { kfree(bytes); }
    KBuffer(const KBuffer&) = delete;
    KBuffer& operator=(const KBuffer&) = delete;
};

// A toy filesystem mapping with 1 KiB blocks allocated downwards from the
// end of the disk: no two neighbouring file blocks are contiguous on the
// device, so every page goes through the per-block ("pieces") path.
class ToyFs final : public MappingOperations {
public:
    static constexpr u32 BLOCK = 1024;
    static constexpr u64 MAX_BLOCKS = 1024;

    explicit ToyFs(u64 disk_bytes) : m_next_free(disk_bytes / BLOCK - 1)
    {
        for (u64& entry : m_map)
            entry = BlockMapping::HOLE;
    }

    Result<BlockMapping> map_blocks(Mapping&, u64 block, u64, bool create) override
    {
        if (block >= MAX_BLOCKS)
            return Error::from_errno(EFBIG);
        if (m_map[block] == BlockMapping::HOLE && create)
            m_map[block] = m_next_free--;
        BlockMapping mapping;
        mapping.blocks = 1;
        mapping.sector = m_map[block] == BlockMapping::HOLE ? BlockMapping::HOLE : m_map[block] * (BLOCK / 512);
        return mapping;
    }

    u64 device_offset(u64 block) const { return m_map[block] * BLOCK; }
    bool mapped(u64 block) const { return m_map[block] != BlockMapping::HOLE; }

private:
    u64 m_map[MAX_BLOCKS];
    u64 m_next_free;
};

} // namespace

KTEST(pagecache, page_state_names_and_invariants)
{
    KEXPECT(page_state_of(0) == PageState::Missing);
    KEXPECT(page_state_of(PAGE_LOCKED) == PageState::Reading);
    KEXPECT(page_state_of(PAGE_UPTODATE) == PageState::UpToDate);
    KEXPECT(page_state_of(PAGE_UPTODATE | PAGE_DIRTY | PAGE_LOCKED) == PageState::Dirty);
    KEXPECT(page_state_of(PAGE_UPTODATE | PAGE_WRITEBACK | PAGE_DIRTY) == PageState::Writeback);
    KEXPECT(page_state_of(PAGE_ERROR) == PageState::Error);
    KEXPECT(!is_valid_page_state(PAGE_DIRTY));
    KEXPECT(!is_valid_page_state(PAGE_WRITEBACK | PAGE_LOCKED));
    KEXPECT(is_valid_page_state(PAGE_UPTODATE | PAGE_DIRTY | PAGE_WRITEBACK));
}

KTEST(pagecache, cached_reread_does_no_device_io)
{
    FakeDisk* disk = mem_disk();
    Mapping* space = fresh_space(disk);
    KASSERT(space);
    constexpr u64 OFFSET = 1 * MiB, LENGTH = 256 * KiB;
    KBuffer data(LENGTH);
    fill(data.bytes, OFFSET, LENGTH, 1);
    disk->poke(OFFSET, data.bytes, LENGTH);
    memset(data.bytes, 0, LENGTH);

    ReadaheadState ra;
    const u64 reads_before = disk->reads();
    auto first = buffered_read(*space, &ra, OFFSET, data.bytes, LENGTH);
    KASSERT(!first.is_error());
    KEXPECT_EQ(first.value(), LENGTH);
    KEXPECT_EQ(mismatches(data.bytes, OFFSET, LENGTH, 1), 0ul);
    const u64 reads_first = disk->reads() - reads_before;
    KEXPECT(reads_first > 0);

    memset(data.bytes, 0, LENGTH);
    ReadaheadState ra2;
    auto second = buffered_read(*space, &ra2, OFFSET, data.bytes, LENGTH);
    KASSERT(!second.is_error());
    KEXPECT_EQ(second.value(), LENGTH);
    KEXPECT_EQ(mismatches(data.bytes, OFFSET, LENGTH, 1), 0ul);
    // Readahead may have run past the range on the first pass; the second
    // pass of the same range finds everything cached.
    KEXPECT_EQ(disk->reads() - reads_before, reads_first);
}

KTEST(pagecache, sequential_read_issues_few_large_requests)
{
    FakeDisk* disk = mem_disk();
    Mapping* space = fresh_space(disk);
    KASSERT(space);
    constexpr u64 OFFSET = 8 * MiB, LENGTH = 4 * MiB;
    constexpr u64 PAGES = LENGTH / PAGE_SIZE;
    {
        KBuffer data(LENGTH);
        fill(data.bytes, OFFSET, LENGTH, 2);
        disk->poke(OFFSET, data.bytes, LENGTH);
    }
    ReadaheadState ra;
    const u64 reads_before = disk->reads();
    const u64 bytes_before = disk->read_bytes();
    u8 page[PAGE_SIZE / 4];
    u64 bad = 0;
    // 1 KiB reads, as a small-buffer reader would do.
    for (u64 at = OFFSET; at < OFFSET + LENGTH; at += sizeof(page)) {
        auto n = buffered_read(*space, &ra, at, page, sizeof(page));
        KASSERT(!n.is_error() && n.value() == sizeof(page));
        bad += mismatches(page, at, sizeof(page), 2);
    }
    KEXPECT_EQ(bad, 0ul);
    const u64 requests = disk->reads() - reads_before;
    const u64 bytes = disk->read_bytes() - bytes_before;
    log_info("ktest", "sequential read: %lu pages in %lu requests (%lu KiB each on average, largest %u KiB)", PAGES,
             requests, requests ? bytes / requests / KiB : 0, disk->largest_request() / 1024);
    KEXPECT(requests > 0);
    KEXPECT(requests <= PAGES / 8);
    KEXPECT(bytes / requests >= 32 * KiB);
    // Readahead does not run far past what was read.
    KEXPECT(bytes <= LENGTH + ReadaheadState::default_max_pages() * PAGE_SIZE * 2);
}

KTEST(pagecache, random_read_does_not_inflate_requests)
{
    FakeDisk* disk = mem_disk();
    Mapping* space = fresh_space(disk);
    KASSERT(space);
    constexpr u64 BASE = 16 * MiB;
    constexpr u64 READS = 64;
    ReadaheadState ra;
    const u64 bytes_before = disk->read_bytes();
    u64 state = 12345;
    u8 buffer[512];
    for (u64 i = 0; i < READS; i++) {
        state = state * 6364136223846793005ul + 1442695040888963407ul;
        // Pages 3 apart at least: never "the next page".
        const u64 index = ((state >> 33) % 2048) * 3;
        auto n = buffered_read(*space, &ra, BASE + index * PAGE_SIZE + 100, buffer, sizeof(buffer));
        KASSERT(!n.is_error());
    }
    const u64 bytes = disk->read_bytes() - bytes_before;
    log_info("ktest", "random read: %lu reads, %lu KiB from the device", READS, bytes / KiB);
    KEXPECT(bytes <= READS * PAGE_SIZE + READS * PAGE_SIZE / 4);
}

KTEST(pagecache, write_fsync_then_reread)
{
    FakeDisk* disk = mem_disk();
    Mapping* space = fresh_space(disk);
    KASSERT(space);
    constexpr u64 OFFSET = 24 * MiB + 1000; // not page aligned
    constexpr u64 LENGTH = 1 * MiB + 333;
    KBuffer data(LENGTH);
    fill(data.bytes, OFFSET, LENGTH, 3);
    const u64 flushes_before = disk->flushes();
    // Odd-sized pieces: partial pages at both ends of each.
    u64 done = 0;
    while (done < LENGTH) {
        const u64 piece = min<u64>(LENGTH - done, 10000);
        auto n = buffered_write(*space, OFFSET + done, data.bytes + done, piece);
        KASSERT(!n.is_error() && n.value() == piece);
        done += piece;
    }
    KEXPECT(counters().dirty > 0);
    KASSERT(!fsync_range(*space, OFFSET, OFFSET + LENGTH - 1).is_error());
    KEXPECT(disk->flushes() > flushes_before);
    // On the device now.
    KBuffer check(LENGTH);
    disk->peek(OFFSET, check.bytes, LENGTH);
    KEXPECT_EQ(mismatches(check.bytes, OFFSET, LENGTH, 3), 0ul);
    // Read back through a cold cache.
    truncate_pages(*space, 0);
    space->set_size_bytes(disk->device().capacity_bytes());
    memset(check.bytes, 0, LENGTH);
    ReadaheadState ra;
    auto n = buffered_read(*space, &ra, OFFSET, check.bytes, LENGTH);
    KASSERT(!n.is_error());
    KEXPECT_EQ(n.value(), LENGTH);
    KEXPECT_EQ(mismatches(check.bytes, OFFSET, LENGTH, 3), 0ul);
}

KTEST(pagecache, partial_page_write_reads_the_rest_first)
{
    FakeDisk* disk = mem_disk();
    Mapping* space = fresh_space(disk);
    KASSERT(space);
    constexpr u64 PAGE_AT = 30 * MiB;
    u8 page[PAGE_SIZE];
    fill(page, PAGE_AT, PAGE_SIZE, 4);
    disk->poke(PAGE_AT, page, PAGE_SIZE);
    const char message[] = "read-modify-write";
    auto n = buffered_write(*space, PAGE_AT + 1000, message, sizeof(message));
    KASSERT(!n.is_error());
    KASSERT(!write_and_wait_range(*space, PAGE_AT, PAGE_AT + PAGE_SIZE - 1).is_error());
    u8 after[PAGE_SIZE];
    disk->peek(PAGE_AT, after, PAGE_SIZE);
    KEXPECT_EQ(mismatches(after, PAGE_AT, 1000, 4), 0ul);
    KEXPECT_EQ(memcmp(after + 1000, message, sizeof(message)), 0);
    KEXPECT_EQ(mismatches(after + 1000 + sizeof(message), PAGE_AT + 1000 + sizeof(message),
                          PAGE_SIZE - 1000 - sizeof(message), 4), 0ul);
}

KTEST(pagecache, writeback_thread_writes_expired_pages)
{
    FakeDisk* disk = mem_disk();
    Mapping* space = fresh_space(disk);
    KASSERT(space);
    constexpr u64 OFFSET = 40 * MiB, LENGTH = 64 * KiB;
    KBuffer data(LENGTH);
    fill(data.bytes, OFFSET, LENGTH, 5);
    auto n = buffered_write(*space, OFFSET, data.bytes, LENGTH);
    KASSERT(!n.is_error());
    Writeback* writeback = space->writeback();
    KASSERT(writeback);
    KEXPECT(writeback->dirty_pages() > 0);
    // Below every threshold: only the periodic pass writes it (expiry
    // shortened from 3 s to keep the suite quick).
    set_dirty_expire_ns(WRITEBACK_PERIOD_NS / 2);
    const u64 deadline = clock_ns() + 6 * WRITEBACK_PERIOD_NS;
    while ((writeback->dirty_pages() || writeback->writeback_pages()) && clock_ns() < deadline)
        sched::sleep_for(20'000'000);
    set_dirty_expire_ns(DIRTY_EXPIRE_NS);
    KEXPECT_EQ(writeback->dirty_pages(), 0ul);
    KBuffer check(LENGTH);
    disk->peek(OFFSET, check.bytes, LENGTH);
    KEXPECT_EQ(mismatches(check.bytes, OFFSET, LENGTH, 5), 0ul);
}

KTEST(pagecache, dirty_pages_stay_under_hard_threshold_with_slow_device)
{
    FakeDisk* disk = slow_disk();
    Mapping* space = fresh_space(disk);
    KASSERT(space);
    // 100 us per KiB (~10 MB/s): slower than the writer even when a loaded
    // host slows the emulated memcpy, so the hard limit is always reached.
    disk->set_bandwidth(100'000);
    constexpr u64 BACKGROUND = 64, HARD = 128;
    set_dirty_limits_override(BACKGROUND, HARD);
    counter::reset_events();
    constexpr u64 LENGTH = 4 * MiB;
    KBuffer chunk(64 * KiB);
    const u64 start = clock_ns();
    bool ok = true;
    for (u64 at = 0; at < LENGTH && ok; at += 64 * KiB) {
        fill(chunk.bytes, at, 64 * KiB, 6);
        auto n = buffered_write(*space, at, chunk.bytes, 64 * KiB);
        ok = !n.is_error();
    }
    const Counters c = counters();
    const u64 elapsed_ms = (clock_ns() - start) / 1'000'000;
    log_info("ktest", "slow device: %lu MiB in %lu ms, max dirty+writeback %lu pages (hard %lu), throttled %lu times, "
             "worst completion lateness %lu us", LENGTH / MiB, elapsed_ms, c.max_dirty_seen, HARD, c.throttled,
             disk->m_max_lateness_ns / 1000);
    KEXPECT(ok);
    // One page per writer may overshoot between the check and the sleep.
    KEXPECT(c.max_dirty_seen <= HARD + 2);
    KEXPECT(c.throttled > 0);
    KASSERT(!fsync_range(*space, 0, LENGTH - 1).is_error());
    set_dirty_limits_override(0, 0);
    disk->set_bandwidth(0);
    KBuffer check(64 * KiB);
    u64 bad = 0;
    for (u64 at = 0; at < LENGTH; at += 64 * KiB) {
        disk->peek(at, check.bytes, 64 * KiB);
        bad += mismatches(check.bytes, at, 64 * KiB, 6);
    }
    KEXPECT_EQ(bad, 0ul);
}

KTEST(pagecache, direct_io_rejects_misaligned_requests)
{
    FakeDisk* disk = mem_disk();
    Mapping* space = fresh_space(disk);
    KASSERT(space);
    KBuffer buffer(2 * PAGE_SIZE);
    KEXPECT_EQ(direct_read(*space, 4096, buffer.bytes + 1, 4096).error().code(), EINVAL);
    KEXPECT_EQ(direct_read(*space, 4096 + 100, buffer.bytes, 4096).error().code(), EINVAL);
    KEXPECT_EQ(direct_read(*space, 4096, buffer.bytes, 1000).error().code(), EINVAL);
    KEXPECT_EQ(direct_write(*space, 4096, buffer.bytes + 8, 512).error().code(), EINVAL);
    KEXPECT_EQ(direct_write(*space, 77, buffer.bytes, 512).error().code(), EINVAL);
    // Aligned to the 512-byte logical block (not to a page) is fine.
    auto ok = direct_read(*space, 512, buffer.bytes + 512, 1024);
    KEXPECT(!ok.is_error() && ok.value() == 1024);
}

KTEST(pagecache, direct_and_buffered_views_stay_coherent)
{
    FakeDisk* disk = mem_disk();
    Mapping* space = fresh_space(disk);
    KASSERT(space);
    constexpr u64 OFFSET = 48 * MiB, LENGTH = 64 * KiB;
    KBuffer buffered(LENGTH), direct(LENGTH);
    // A buffered write (still dirty) is what a direct read sees.
    fill(buffered.bytes, OFFSET, LENGTH, 7);
    KASSERT(!buffered_write(*space, OFFSET, buffered.bytes, LENGTH).is_error());
    auto n = direct_read(*space, OFFSET, direct.bytes, LENGTH);
    KASSERT(!n.is_error() && n.value() == LENGTH);
    KEXPECT_EQ(mismatches(direct.bytes, OFFSET, LENGTH, 7), 0ul);
    // A direct write replaces what the cache held: a buffered read sees it.
    fill(direct.bytes, OFFSET, LENGTH, 8);
    auto w = direct_write(*space, OFFSET + 4096, direct.bytes + 4096, LENGTH - 8192);
    KASSERT(!w.is_error() && w.value() == LENGTH - 8192);
    ReadaheadState ra;
    auto r = buffered_read(*space, &ra, OFFSET, buffered.bytes, LENGTH);
    KASSERT(!r.is_error() && r.value() == LENGTH);
    KEXPECT_EQ(mismatches(buffered.bytes, OFFSET, 4096, 7), 0ul);
    KEXPECT_EQ(mismatches(buffered.bytes + 4096, OFFSET + 4096, LENGTH - 8192, 8), 0ul);
    KEXPECT_EQ(mismatches(buffered.bytes + LENGTH - 4096, OFFSET + LENGTH - 4096, 4096, 7), 0ul);
    // A page somebody holds during the direct write is not dropped but re-read.
    Page* held = space->find_get_page((OFFSET + 4096) >> PAGE_SHIFT);
    KASSERT(held);
    fill(direct.bytes, OFFSET, LENGTH, 9);
    KASSERT(!direct_write(*space, OFFSET + 4096, direct.bytes + 4096, 4096).is_error());
    u8 page[PAGE_SIZE];
    auto again = buffered_read(*space, nullptr, OFFSET + 4096, page, PAGE_SIZE);
    KASSERT(!again.is_error());
    KEXPECT_EQ(mismatches(page, OFFSET + 4096, PAGE_SIZE, 9), 0ul);
    put_page(*held);
}

KTEST(pagecache, small_blocks_holes_and_scattered_mapping)
{
    FakeDisk* disk = mem_disk();
    KASSERT(disk);
    static ToyFs toy(disk->device().capacity_bytes());
    Mapping space(toy, &disk->device(), ToyFs::BLOCK);
    struct Release {
        Mapping& space;
        ~Release() { space.release(); }
    } release {space};
    // A file with data at [0, 10000) and [40000, 50000): a hole between.
    KBuffer data(64 * KiB);
    fill(data.bytes, 0, 64 * KiB, 10);
    KASSERT(!buffered_write(space, 0, data.bytes, 10000).is_error());
    KASSERT(!buffered_write(space, 40000, data.bytes + 40000, 10000).is_error());
    KEXPECT_EQ(space.size_bytes(), 50000ul);
    KASSERT(!fsync_range(space, 0, ~0ul).is_error());
    // Each written block is on the device where the toy map says.
    u8 block[ToyFs::BLOCK];
    u64 bad = 0;
    // Only the blocks a write touched are dirty and get mapped (blocks
    // 0..9 and 39..48): the blocks between, including those sharing pages 2
    // and 9 with written data, stay holes.
    for (u64 b = 0; b < 49; b++) {
        if (b * ToyFs::BLOCK >= 10000 && (b + 1) * ToyFs::BLOCK <= 40000) {
            KEXPECT(!toy.mapped(b));
            continue;
        }
        KASSERT(toy.mapped(b));
        disk->peek(toy.device_offset(b), block, ToyFs::BLOCK);
        const u64 from = b * ToyFs::BLOCK;
        const u64 to = min<u64>(from + ToyFs::BLOCK, 50000);
        for (u64 i = from; i < to; i++) {
            const bool in_data = i < 10000 || i >= 40000;
            bad += in_data ? block[i - from] != byte_at(i, 10) : block[i - from] != 0;
        }
    }
    KEXPECT_EQ(bad, 0ul);
    // Cold read: holes are zeros, data matches.
    space.release();
    space.set_size_bytes(50000);
    KBuffer back(64 * KiB);
    ReadaheadState ra;
    auto n = buffered_read(space, &ra, 0, back.bytes, 64 * KiB);
    KASSERT(!n.is_error());
    KEXPECT_EQ(n.value(), 50000ul);
    u64 wrong = 0;
    for (u64 i = 0; i < 50000; i++)
        wrong += (i < 10000 || i >= 40000) ? back.bytes[i] != byte_at(i, 10) : back.bytes[i] != 0;
    KEXPECT_EQ(wrong, 0ul);
}

// Truncation waits for direct I/O in flight (Linux's inode_dio_wait). A
// direct read is held on the device; another thread truncates the file and
// reuses its blocks for other data. truncate_pages must not return while the
// read is in flight, and the read must return the data it was issued for,
// not the blocks' new contents.
KTEST(pagecache, truncate_waits_for_direct_reads_in_flight)
{
    FakeDisk* disk = mem_disk();
    KASSERT(disk);
    static ToyFs toy(disk->device().capacity_bytes());
    Mapping space(toy, &disk->device(), ToyFs::BLOCK);
    struct Release {
        Mapping& space;
        ~Release() { space.release(); }
    } release {space};
    constexpr u64 LENGTH = 16 * KiB;
    KBuffer data(LENGTH);
    fill(data.bytes, 0, LENGTH, 40);
    KASSERT(!buffered_write(space, 0, data.bytes, LENGTH).is_error());
    KASSERT(!fsync_range(space, 0, ~0ul).is_error());
    Page* pages = mm::alloc_pages(2);
    KASSERT(pages);
    u8* buffer = static_cast<u8*>(mm::page_address(pages));
    memset(buffer, 0, LENGTH);

    struct Read {
        Completion done;
        i64 result = 0;
    } read;
    disk->hold_reads(true);
    KASSERT(!submit_direct_io(space, block::BioOp::Read, 0, buffer, LENGTH,
                              [](void* context, i64 result) {
                                  auto* r = static_cast<Read*>(context);
                                  r->result = result;
                                  r->done.complete();
                              },
                              &read)
                 .is_error());
    disk->hold_reads(false);
    KASSERT(ktest_util::wait_until([&] { return disk->held_reads() > 0; }, 5'000'000'000ul));

    // Truncate, then put other data where the file's blocks were.
    Atomic<bool> truncated{false};
    const u64 waits_before = counter::get(counter::DIRECT_IO_DRAIN_WAITS);
    Thread* truncator = ktest_util::spawn(ktest_context, "truncator", [&] {
        truncate_pages(space, 0);
        u8 other[ToyFs::BLOCK];
        memset(other, 0xee, sizeof(other));
        for (u64 b = 0; b < LENGTH / ToyFs::BLOCK; b++)
            disk->poke(toy.device_offset(b), other, sizeof(other));
        truncated.store(true, MemoryOrder::Release);
    });
    KASSERT(truncator);
    // Until the truncation either finishes (the defect) or waits for the read.
    KEXPECT(ktest_util::wait_until([&] {
        return truncated.load(MemoryOrder::Acquire) || counter::get(counter::DIRECT_IO_DRAIN_WAITS) > waits_before;
    }, 10'000'000'000ul));
    KEXPECT(!truncated.load(MemoryOrder::Acquire)); // the read is still held on the device
    disk->release_held_reads();
    read.done.wait();
    KEXPECT_EQ(read.result, static_cast<i64>(LENGTH));
    KEXPECT_EQ(mismatches(buffer, 0, LENGTH, 40), 0ul);
    truncator->join();
    KEXPECT(truncated.load(MemoryOrder::Acquire));
    mm::free_pages(pages, 2);
}

KTEST(pagecache, reclaim_drops_clean_pages_but_not_pages_in_use)
{
    FakeDisk* disk = mem_disk();
    Mapping* space = fresh_space(disk);
    KASSERT(space);
    constexpr u64 OFFSET = 56 * MiB, LENGTH = 512 * KiB;
    KBuffer data(LENGTH);
    ReadaheadState ra;
    KASSERT(!buffered_read(*space, &ra, OFFSET, data.bytes, LENGTH).is_error());
    Page* held = space->find_get_page(OFFSET >> PAGE_SHIFT);
    KASSERT(held);
    const u64 cached_before = space->nr_pages();
    const u64 dropped = drop_clean_pages();
    KEXPECT(dropped > 0);
    KEXPECT(space->nr_pages() < cached_before);
    Page* still = space->find_get_page(OFFSET >> PAGE_SHIFT);
    KEXPECT(still == held);
    if (still)
        put_page(*still);
    put_page(*held);
}

KTEST(pagecache, io_errors_reach_the_reader_and_fsync)
{
    FakeDisk* disk = mem_disk();
    Mapping* space = fresh_space(disk);
    KASSERT(space);
    constexpr u64 OFFSET = 60 * MiB;
    disk->set_fail_sector((OFFSET >> block::SECTOR_SHIFT) + 3);
    u8 buffer[PAGE_SIZE];
    auto r = buffered_read(*space, nullptr, OFFSET, buffer, PAGE_SIZE);
    KEXPECT(r.is_error() && r.error().code() == EIO);
    memset(buffer, 0x5a, sizeof(buffer));
    auto w = buffered_write(*space, OFFSET + PAGE_SIZE * 4, buffer, PAGE_SIZE);
    KEXPECT(!w.is_error());
    disk->set_fail_sector(((OFFSET + PAGE_SIZE * 4) >> block::SECTOR_SHIFT) + 1);
    auto f = fsync_range(*space, OFFSET, OFFSET + 8 * PAGE_SIZE);
    KEXPECT(f.is_error() && f.error().code() == EIO);
    disk->set_fail_sector(~0ul);
    // The error is reported once.
    KEXPECT(!fsync_range(*space, OFFSET, OFFSET + 8 * PAGE_SIZE).is_error());
    truncate_pages(*space, 0);
}

KTEST(pagecache, truncate_drops_dirty_pages_and_counts)
{
    FakeDisk* disk = mem_disk();
    Mapping* space = fresh_space(disk);
    KASSERT(space);
    const Counters before = counters();
    KBuffer data(128 * KiB);
    fill(data.bytes, 0, 128 * KiB, 11);
    KASSERT(!buffered_write(*space, 0, data.bytes, 128 * KiB).is_error());
    KEXPECT(space->nr_pages() >= 32);
    truncate_pages(*space, 0);
    KEXPECT_EQ(space->nr_pages(), 0ul);
    const Counters after = counters();
    KEXPECT(after.dirty <= before.dirty);
    KEXPECT(after.cached <= before.cached);
}

// A file four times the size of RAM, written and read back through the cache.
KTEST(pagecache_pressure, file_four_times_ram_round_trip)
{
    const u64 ram = mm::page_counters().total * PAGE_SIZE;
    fakedisk::Config config;
    config.name = "pcpat0";
    config.media = fakedisk::Media::Pattern;
    config.capacity_bytes = (4 * ram + MiB - 1) & ~(MiB - 1);
    static FakeDisk* disk = FakeDisk::create(config);
    KASSERT(disk);
    Mapping* space = fresh_space(disk);
    KASSERT(space);
    counter::reset_events();
    constexpr u64 CHUNK = 256 * KiB;
    constexpr u64 SEED = 0x5eed;
    KBuffer buffer(CHUNK);
    KASSERT(buffer.bytes);
    const u64 size = config.capacity_bytes;
    const u64 start = clock_ns();
    u64 lowest_free = ~0ul;
    for (u64 at = 0; at < size; at += CHUNK) {
        u64* words = reinterpret_cast<u64*>(buffer.bytes);
        for (u64 i = 0; i < CHUNK / 8; i++)
            words[i] = fakedisk::pattern_word(at + i * 8, SEED);
        auto n = buffered_write(*space, at, buffer.bytes, CHUNK);
        KASSERT(!n.is_error() && n.value() == CHUNK);
        lowest_free = min(lowest_free, mm::page_counters().free);
    }
    KASSERT(!fsync_range(*space, 0, size - 1).is_error());
    const u64 written_ms = (clock_ns() - start) / 1'000'000;
    ReadaheadState ra;
    u64 bad_words = 0;
    for (u64 at = 0; at < size; at += CHUNK) {
        auto n = buffered_read(*space, &ra, at, buffer.bytes, CHUNK);
        KASSERT(!n.is_error() && n.value() == CHUNK);
        const u64* words = reinterpret_cast<const u64*>(buffer.bytes);
        for (u64 i = 0; i < CHUNK / 8; i++)
            bad_words += words[i] != fakedisk::pattern_word(at + i * 8, SEED);
        lowest_free = min(lowest_free, mm::page_counters().free);
    }
    const Counters c = counters();
    log_info("ktest", "%lu MiB file (RAM %lu MiB): written in %lu ms, read back in %lu ms; reclaimed %lu pages, "
             "lowest free %lu pages, %lu write bios, %lu read bios", size / MiB, ram / MiB, written_ms,
             (clock_ns() - start) / 1'000'000 - written_ms, c.reclaimed, lowest_free, c.write_bios, c.read_bios);
    KEXPECT_EQ(bad_words, 0ul);
    KEXPECT_EQ(disk->corrupt_blocks(), 0ul);
    KEXPECT(c.reclaimed > size / PAGE_SIZE / 2);
    truncate_pages(*space, 0);
}

KTEST(pagecache, block_granular_dirty_and_forget)
{
    FakeDisk* disk = mem_disk();
    Mapping* space = fresh_space(disk);
    KASSERT(space);
    KEXPECT_EQ(space->block_size(), 512u);
    constexpr u64 AT = 62 * MiB;
    u8 original[PAGE_SIZE];
    fill(original, AT, PAGE_SIZE, 12);
    disk->poke(AT, original, PAGE_SIZE);
    auto cached = read_cache_page(*space, AT >> PAGE_SHIFT);
    KASSERT(!cached.is_error());
    Page& page = *cached.value();
    u8* data = static_cast<u8*>(mm::page_address(&page));
    // A "metadata block" (sector 2 of the page) changes in the cache...
    memset(data + 1024, 0xb2, 512);
    space->set_page_dirty_range(page, 1024, 512);
    // ...while sector 5 gets new contents on the device from elsewhere (a
    // file's data); the stale cached copy of sector 5 must not overwrite it.
    u8 foreign[512];
    memset(foreign, 0xf5, sizeof(foreign));
    disk->poke(AT + 5 * 512, foreign, sizeof(foreign));
    // Sector 6 is dirtied and then forgotten (its block was freed and reused).
    memset(data + 6 * 512, 0x66, 512);
    space->set_page_dirty_range(page, 6 * 512, 512);
    space->forget_dirty(AT + 6 * 512, 512);
    KASSERT(!write_and_wait_range(*space, AT, AT + PAGE_SIZE - 1).is_error());
    u8 after[PAGE_SIZE];
    disk->peek(AT, after, PAGE_SIZE);
    u64 bad = 0;
    for (u32 i = 0; i < PAGE_SIZE; i++) {
        const u32 sector = i / 512;
        const u8 expected = sector == 2 ? 0xb2 : sector == 5 ? 0xf5 : original[i];
        bad += after[i] != expected;
    }
    KEXPECT_EQ(bad, 0ul);
    // Forgetting the last dirty block makes the page clean.
    memset(data + 7 * 512, 0x77, 512);
    space->set_page_dirty_range(page, 7 * 512, 512);
    KEXPECT(page_test(page, PAGE_DIRTY));
    space->forget_dirty(AT + 7 * 512, 512);
    KEXPECT(!page_test(page, PAGE_DIRTY));
    put_page(page);
    truncate_pages(*space, 0);
}

KTEST(pagecache, memory_only_space_keeps_pages_and_reads_zeros)
{
    Mapping space(memory_only_operations(), nullptr, PAGE_SIZE);
    struct Release {
        Mapping& space;
        ~Release() { space.release(); }
    } release {space};
    const Counters before = counters();
    const char text[] = "kept in memory";
    KASSERT(!buffered_write(space, 10000, text, sizeof(text)).is_error());
    KEXPECT_EQ(space.size_bytes(), 10000 + sizeof(text));
    char back[32] = {};
    KASSERT(!buffered_read(space, nullptr, 10000, back, sizeof(text)).is_error());
    KEXPECT_EQ(memcmp(back, text, sizeof(text)), 0);
    u8 zeros[64];
    memset(zeros, 1, sizeof(zeros));
    KASSERT(!buffered_read(space, nullptr, 100, zeros, sizeof(zeros)).is_error());
    u64 nonzero = 0;
    for (u8 b : zeros)
        nonzero += b != 0;
    KEXPECT_EQ(nonzero, 0ul);
    // Never dirty-accounted, never reclaimed.
    KEXPECT_EQ(counters().dirty, before.dirty);
    drop_clean_pages();
    KEXPECT_EQ(space.nr_pages(), 2ul); // page 2 (written) and page 0 (read)
}

// Writers on every CPU share one space (interleaved pages), readers re-read
// what they wrote, while another thread keeps dropping clean pages, syncing
// and shrinking the cache under them. At the end the device holds exactly
// what every writer wrote last.
namespace {

struct StressShared {
    Mapping* space;
    FakeDisk* disk;
    u32 writers;
    u32 failures;
    bool stop;
    u32 done;
};

constexpr u64 STRESS_BASE = 32 * MiB;
constexpr u64 STRESS_PAGES_PER_WRITER = 48;
constexpr u32 STRESS_ROUNDS = 3;

u8 stress_seed(u32 writer, u32 round) { return static_cast<u8>(writer * 40 + round + 1); }

void stress_writer(StressShared& shared, u32 writer)
{
    u8* buffer = static_cast<u8*>(kmalloc(PAGE_SIZE));
    u8* check = static_cast<u8*>(kmalloc(PAGE_SIZE));
    ReadaheadState ra;
    for (u32 round = 0; round < STRESS_ROUNDS && buffer && check; round++) {
        for (u64 i = 0; i < STRESS_PAGES_PER_WRITER; i++) {
            const u64 at = STRESS_BASE + (i * shared.writers + writer) * PAGE_SIZE;
            fill(buffer, at, PAGE_SIZE, stress_seed(writer, round));
            // Two halves: the second is a partial-page write.
            bool ok = !buffered_write(*shared.space, at, buffer, 1000).is_error();
            ok = ok && !buffered_write(*shared.space, at + 1000, buffer + 1000, PAGE_SIZE - 1000).is_error();
            auto n = buffered_read(*shared.space, &ra, at, check, PAGE_SIZE);
            ok = ok && !n.is_error() && memcmp(check, buffer, PAGE_SIZE) == 0;
            if (!ok)
                AtomicRef(shared.failures).fetch_add(1, MemoryOrder::Relaxed);
        }
    }
    kfree(buffer);
    kfree(check);
    AtomicRef(shared.done).fetch_add(1, MemoryOrder::Release);
}

} // namespace

KTEST(pagecache, concurrent_writers_readers_and_reclaim)
{
    static StressShared shared;
    shared = {};
    shared.disk = mem_disk();
    shared.space = fresh_space(shared.disk);
    KASSERT(shared.space);
    shared.writers = min(sched::cpu_count() * 2, 4u);
    Thread* threads[4] = {};
    for (u32 w = 0; w < shared.writers; w++) {
        threads[w] = ktest_util::spawn(ktest_context, "pc-stress", [w] { stress_writer(shared, w); },
                                       w % sched::cpu_count());
        KASSERT(threads[w]);
    }
    Thread* pressure = ktest_util::spawn(ktest_context, "pc-pressure", [] {
        while (!AtomicRef(shared.stop).load(MemoryOrder::Acquire)) {
            drop_clean_pages();
            (void)write_and_wait_range(*shared.space, STRESS_BASE, STRESS_BASE + 8 * MiB);
            shrink_page_cache(64);
            sched::sleep_for(1'000'000);
        }
    });
    KASSERT(pressure);
    for (u32 w = 0; w < shared.writers; w++)
        threads[w]->join();
    AtomicRef(shared.stop).store(true, MemoryOrder::Release);
    pressure->join();
    KEXPECT_EQ(shared.failures, 0u);
    KASSERT(!fsync_range(*shared.space, 0, ~0ul).is_error());
    u8 page[PAGE_SIZE];
    u64 bad = 0;
    for (u32 w = 0; w < shared.writers; w++) {
        for (u64 i = 0; i < STRESS_PAGES_PER_WRITER; i++) {
            const u64 at = STRESS_BASE + (i * shared.writers + w) * PAGE_SIZE;
            shared.disk->peek(at, page, PAGE_SIZE);
            bad += mismatches(page, at, PAGE_SIZE, stress_seed(w, STRESS_ROUNDS - 1)) != 0;
        }
    }
    KEXPECT_EQ(bad, 0ul);
    KEXPECT_EQ(counters().writeback, 0ul);
    truncate_pages(*shared.space, 0);
}

KTEST(pagecache, asynchronous_direct_io_completes_through_the_callback)
{
    FakeDisk* disk = mem_disk();
    Mapping* space = fresh_space(disk);
    KASSERT(space);
    constexpr u64 OFFSET = 50 * MiB, LENGTH = 3 * PAGE_SIZE;
    struct Done {
        Completion completion;
        i64 result = 0;
        u32 calls = 0;
    };
    static Done done;
    done.result = 0;
    done.calls = 0;
    auto callback = [](void* context, i64 result) {
        auto* d = static_cast<Done*>(context);
        d->result = result;
        AtomicRef(d->calls).fetch_add(1, MemoryOrder::Relaxed);
        d->completion.complete();
    };
    KBuffer buffer(LENGTH), cached(LENGTH);
    // The range is cached first; the direct write must not leave it stale.
    KASSERT(!buffered_read(*space, nullptr, OFFSET, cached.bytes, LENGTH).is_error());
    fill(buffer.bytes, OFFSET, LENGTH, 13);
    KASSERT(!submit_direct_io(*space, block::BioOp::Write, OFFSET, buffer.bytes, LENGTH, callback, &done).is_error());
    done.completion.wait();
    KEXPECT_EQ(done.result, static_cast<i64>(LENGTH));
    KEXPECT_EQ(done.calls, 1u);
    KASSERT(!buffered_read(*space, nullptr, OFFSET, cached.bytes, LENGTH).is_error());
    KEXPECT_EQ(mismatches(cached.bytes, OFFSET, LENGTH, 13), 0ul);
    // Read it back asynchronously; a failing device reports -EIO.
    memset(buffer.bytes, 0, LENGTH);
    KASSERT(!submit_direct_io(*space, block::BioOp::Read, OFFSET, buffer.bytes, LENGTH, callback, &done).is_error());
    done.completion.wait();
    KEXPECT_EQ(done.result, static_cast<i64>(LENGTH));
    KEXPECT_EQ(mismatches(buffer.bytes, OFFSET, LENGTH, 13), 0ul);
    disk->set_fail_sector((OFFSET >> block::SECTOR_SHIFT) + 9);
    KASSERT(!submit_direct_io(*space, block::BioOp::Read, OFFSET, buffer.bytes, LENGTH, callback, &done).is_error());
    done.completion.wait();
    disk->set_fail_sector(~0ul);
    KEXPECT_EQ(done.result, -static_cast<i64>(EIO));
    // Misaligned: refused up front, the callback never runs.
    KEXPECT(submit_direct_io(*space, block::BioOp::Read, OFFSET + 1, buffer.bytes, LENGTH, callback, &done).is_error());
    KEXPECT_EQ(done.calls, 3u);
}

// --- the buffer abstraction, non-blocking reads and asynchronous page waiters ---

KTEST(pagecache, buffered_io_through_page_and_user_iterators)
{
    FakeDisk* disk = mem_disk();
    Mapping* space = fresh_space(disk);
    KASSERT(space);
    constexpr u64 OFFSET = 20 * MiB + 300;
    Page* pages[2] = { mm::alloc_page(), mm::alloc_page() };
    KASSERT(pages[0] && pages[1]);
    const mm::PageSegment pieces[] = { { pages[0], 100, 3000 }, { pages[1], 0, 2000 } };
    fill(static_cast<u8*>(mm::page_address(pages[0])) + 100, OFFSET, 3000, 21);
    fill(static_cast<u8*>(mm::page_address(pages[1])), OFFSET + 3000, 2000, 21);
    mm::IoIter source = mm::IoIter::pages(pieces, 2, 5000);
    auto written = buffered_write(*space, OFFSET, source);
    KASSERT(!written.is_error());
    KEXPECT_EQ(written.value(), 5000ul);
    KEXPECT_EQ(source.count(), 0ul);
    KBuffer back(5000);
    KASSERT(!buffered_read(*space, nullptr, OFFSET, back.bytes, 5000).is_error());
    KEXPECT_EQ(mismatches(back.bytes, OFFSET, 5000, 21), 0ul);
    // Read into pages: the iterator ends where the data did.
    memset(mm::page_address(pages[0]), 0, PAGE_SIZE);
    memset(mm::page_address(pages[1]), 0, PAGE_SIZE);
    mm::IoIter target = mm::IoIter::pages(pieces, 2, 5000);
    auto read = buffered_read(*space, nullptr, OFFSET, target);
    KASSERT(!read.is_error());
    KEXPECT_EQ(read.value(), 5000ul);
    KEXPECT_EQ(mismatches(static_cast<u8*>(mm::page_address(pages[0])) + 100, OFFSET, 3000, 21), 0ul);
    KEXPECT_EQ(mismatches(static_cast<u8*>(mm::page_address(pages[1])), OFFSET + 3000, 2000, 21), 0ul);
    // A user iterator whose memory cannot be reached: EFAULT, nothing moved,
    // the file unchanged.
    mm::IoIter bad = mm::IoIter::user(back.bytes, 5000);
    KEXPECT_EQ(buffered_read(*space, nullptr, OFFSET, bad).error().code(), EFAULT);
    KEXPECT_EQ(buffered_write(*space, OFFSET, bad).error().code(), EFAULT);
    KEXPECT_EQ(bad.count(), 5000ul);
    KASSERT(!buffered_read(*space, nullptr, OFFSET, back.bytes, 5000).is_error());
    KEXPECT_EQ(mismatches(back.bytes, OFFSET, 5000, 21), 0ul);
    // Direct I/O straight from pages, and a user buffer through the bounce.
    const mm::PageSegment whole[] = { { pages[0], 0, PAGE_SIZE } };
    fill(static_cast<u8*>(mm::page_address(pages[0])), 24 * MiB, PAGE_SIZE, 22);
    mm::IoIter direct = mm::IoIter::pages(whole, 1, PAGE_SIZE);
    KEXPECT_EQ(direct_write(*space, 24 * MiB, direct).value(), PAGE_SIZE);
    KASSERT(!buffered_read(*space, nullptr, 24 * MiB, back.bytes, PAGE_SIZE).is_error());
    KEXPECT_EQ(mismatches(back.bytes, 24 * MiB, PAGE_SIZE, 22), 0ul);
    mm::IoIter user_direct = mm::IoIter::user(reinterpret_cast<void*>(0x100000), PAGE_SIZE);
    KEXPECT_EQ(direct_read(*space, 24 * MiB, user_direct).error().code(), EFAULT);
    mm::IoIter user_async = mm::IoIter::user(reinterpret_cast<void*>(0x100000), PAGE_SIZE);
    KEXPECT_EQ(submit_direct_io(*space, block::BioOp::Read, 24 * MiB, user_async, [](void*, i64) {}, nullptr)
                   .error()
                   .code(),
               EINVAL);
    mm::free_page(pages[0]);
    mm::free_page(pages[1]);
}

KTEST(pagecache, nowait_read_returns_cached_data_or_eagain)
{
    FakeDisk* disk = mem_disk();
    Mapping* space = fresh_space(disk);
    KASSERT(space);
    constexpr u64 OFFSET = 30 * MiB, LENGTH = 4 * PAGE_SIZE;
    KBuffer data(LENGTH);
    fill(data.bytes, OFFSET, LENGTH, 23);
    disk->poke(OFFSET, data.bytes, LENGTH);
    memset(data.bytes, 0, LENGTH);
    // A page whose read is in flight (locked, not up to date; here we hold
    // it): EAGAIN at once where a blocking read would wait for the unlock.
    {
        auto grabbed = grab_cache_page(*space, OFFSET >> PAGE_SHIFT);
        KASSERT(!grabbed.is_error());
        mm::IoIter busy = mm::IoIter::kernel(data.bytes, LENGTH);
        KEXPECT_EQ(buffered_read(*space, nullptr, OFFSET, busy, READ_NOWAIT).error().code(), EAGAIN);
        KEXPECT_EQ(busy.count(), LENGTH);
        space->remove_page(*grabbed.value());
        unlock_page(*grabbed.value());
        put_page(*grabbed.value());
    }
    // Cold: the read it starts fills the cache (EAGAIN unless the device was
    // faster than the lookup after the submission).
    const u64 reads_before = disk->reads();
    mm::IoIter cold = mm::IoIter::kernel(data.bytes, LENGTH);
    auto first = buffered_read(*space, nullptr, OFFSET, cold, READ_NOWAIT);
    KEXPECT(first.is_error() ? first.error().code() == EAGAIN : first.value() > 0);
    Page* page = space->find_get_page(OFFSET >> PAGE_SHIFT);
    KASSERT(page);
    wait_on_page_locked(*page);
    KEXPECT(page_test(*page, PAGE_UPTODATE));
    KEXPECT(disk->reads() > reads_before);
    put_page(*page);
    // The first page cached, the second in flight (held locked here): a
    // nowait read returns what is up to date and stops at the first page
    // that is not.
    truncate_pages(*space, 0);
    space->set_size_bytes(disk->device().capacity_bytes());
    KASSERT(!buffered_read(*space, nullptr, OFFSET, data.bytes, PAGE_SIZE).is_error());
    {
        auto in_flight = grab_cache_page(*space, (OFFSET >> PAGE_SHIFT) + 1);
        KASSERT(!in_flight.is_error());
        memset(data.bytes, 0, LENGTH);
        mm::IoIter partial = mm::IoIter::kernel(data.bytes, LENGTH);
        auto n = buffered_read(*space, nullptr, OFFSET, partial, READ_NOWAIT);
        KASSERT(!n.is_error());
        KEXPECT_EQ(n.value(), PAGE_SIZE);
        KEXPECT_EQ(partial.count(), LENGTH - PAGE_SIZE);
        KEXPECT_EQ(mismatches(data.bytes, OFFSET, PAGE_SIZE, 23), 0ul);
        space->remove_page(*in_flight.value());
        unlock_page(*in_flight.value());
        put_page(*in_flight.value());
    }
    // Once everything is read, a nowait read is a plain hit.
    KASSERT(!buffered_read(*space, nullptr, OFFSET, data.bytes, LENGTH).is_error());
    memset(data.bytes, 0, LENGTH);
    mm::IoIter hit = mm::IoIter::kernel(data.bytes, LENGTH);
    const u64 reads_hit = disk->reads();
    KEXPECT_EQ(buffered_read(*space, nullptr, OFFSET, hit, READ_NOWAIT).value(), LENGTH);
    KEXPECT_EQ(disk->reads(), reads_hit);
    KEXPECT_EQ(mismatches(data.bytes, OFFSET, LENGTH, 23), 0ul);
}

namespace {

struct WaiterLog {
    u32 calls = 0;
    bool uptodate = false;
    Completion fired;
};

void note_page_ready(AsyncPageWaiter& waiter)
{
    auto& log = *static_cast<WaiterLog*>(waiter.context);
    log.uptodate = page_test(*waiter.page, PAGE_UPTODATE);
    AtomicRef(log.calls).fetch_add(1, MemoryOrder::Release);
    log.fired.complete();
}

} // namespace

// The wake function runs the callback exactly once, on unlock, and only for
// its own page; an unlocked page is reported at arming time instead.
KTEST(pagecache, async_page_waiter_runs_its_callback_on_unlock)
{
    FakeDisk* disk = mem_disk();
    Mapping* space = fresh_space(disk);
    KASSERT(space);
    constexpr u64 OFFSET = 32 * MiB;
    u8 scratch[64];
    KASSERT(!buffered_read(*space, nullptr, OFFSET, scratch, sizeof(scratch)).is_error());
    KASSERT(!buffered_read(*space, nullptr, OFFSET + PAGE_SIZE, scratch, sizeof(scratch)).is_error());
    Page* page = space->find_get_page(OFFSET >> PAGE_SHIFT);
    Page* other = space->find_get_page((OFFSET >> PAGE_SHIFT) + 1);
    KASSERT(page && other);

    WaiterLog log;
    AsyncPageWaiter waiter(note_page_ready, &log);
    KEXPECT(!wait_on_page_locked_async(*page, waiter)); // not locked: retry now
    KEXPECT_EQ(log.calls, 0u);

    lock_page(*page); // as a read in flight holds it
    KEXPECT(wait_on_page_locked_async(*page, waiter));
    lock_page(*other);
    unlock_page(*other); // another page's unlock does not run it
    KEXPECT_EQ(AtomicRef(log.calls).load(MemoryOrder::Acquire), 0u);
    unlock_page(*page);
    KEXPECT_EQ(AtomicRef(log.calls).load(MemoryOrder::Acquire), 1u);
    KEXPECT(log.uptodate);
    KEXPECT(!disarm_page_waiter(waiter)); // it already ran
    lock_page(*page);
    unlock_page(*page);
    KEXPECT_EQ(AtomicRef(log.calls).load(MemoryOrder::Acquire), 1u); // once only

    // Disarmed before the unlock: never runs.
    WaiterLog quiet;
    AsyncPageWaiter cancelled(note_page_ready, &quiet);
    lock_page(*page);
    KEXPECT(wait_on_page_locked_async(*page, cancelled));
    KEXPECT(disarm_page_waiter(cancelled));
    unlock_page(*page);
    KEXPECT_EQ(AtomicRef(quiet.calls).load(MemoryOrder::Acquire), 0u);
    put_page(*page);
    put_page(*other);
}

// With real I/O: a nowait miss starts the read, the waiter fires from the
// completion (an interrupt) once the page is up to date, and the retry hits.
KTEST(pagecache, async_page_waiter_fires_when_a_read_completes)
{
    FakeDisk* disk = mem_disk();
    Mapping* space = fresh_space(disk);
    KASSERT(space);
    constexpr u64 OFFSET = 34 * MiB;
    KBuffer data(PAGE_SIZE);
    fill(data.bytes, OFFSET, PAGE_SIZE, 24);
    disk->poke(OFFSET, data.bytes, PAGE_SIZE);
    u32 fired = 0, retried_at_once = 0;
    for (u32 round = 0; round < 8; round++) {
        const u64 at = OFFSET; // the same page, dropped each round
        truncate_pages(*space, 0);
        space->set_size_bytes(disk->device().capacity_bytes());
        mm::IoIter iter = mm::IoIter::kernel(data.bytes, PAGE_SIZE);
        auto attempt = buffered_read(*space, nullptr, at, iter, READ_NOWAIT);
        KASSERT(attempt.is_error() ? attempt.error().code() == EAGAIN : attempt.value() == PAGE_SIZE);
        Page* page = space->find_get_page(at >> PAGE_SHIFT);
        KASSERT(page);
        WaiterLog log;
        AsyncPageWaiter waiter(note_page_ready, &log);
        if (wait_on_page_locked_async(*page, waiter)) {
            KEXPECT(log.fired.wait_for(5'000'000'000ul));
            KEXPECT_EQ(AtomicRef(log.calls).load(MemoryOrder::Acquire), 1u);
            KEXPECT(log.uptodate);
            fired++;
        } else {
            retried_at_once++; // the read beat us: the page is ready already
            KEXPECT(page_test(*page, PAGE_UPTODATE));
        }
        put_page(*page);
        memset(data.bytes, 0, PAGE_SIZE);
        mm::IoIter retry = mm::IoIter::kernel(data.bytes, PAGE_SIZE);
        KEXPECT_EQ(buffered_read(*space, nullptr, at, retry, READ_NOWAIT).value(), PAGE_SIZE);
        KEXPECT_EQ(mismatches(data.bytes, at, PAGE_SIZE, 24), 0ul);
    }
    log_info("ktest", "async page waiter: %u fired from the completion, %u found the page ready", fired,
             retried_at_once);
}
