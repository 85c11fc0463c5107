// An in-memory block device for page-cache ktests, driven through blk-mq like
// a real one and completing requests from a kernel timer (interrupt context,
// as a device interrupt would), after a latency and a bandwidth it is given.
//
// Two kinds of media:
//   Memory   the bytes are kept (a sparse array of pages, zero where never
//            written); tests can peek and poke them behind the cache's back.
//   Pattern  for devices larger than RAM: every 4 KiB block holds
//            pattern_word(offset, seed) words; only the seed of each block is
//            kept. A write takes the seed from the block's first word and
//            checks sample words against it (a mismatch counts as corruption);
//            a read regenerates the block.
#pragma once

#include "kernel/block/BlkMq.h"
#include "kernel/block/BlockDevice.h"
#include "kernel/block/TagSet.h"
#include "kernel/lib/Atomic.h"
#include "kernel/lib/String.h"
#include "kernel/mm/Heap.h"
#include "kernel/mm/PageAllocator.h"
#include "kernel/sync/Guarded.h"
#include "kernel/time/Clock.h"
#include "kernel/time/Timer.h"

namespace fakedisk {

inline u64 pattern_word(u64 byte_offset, u64 seed)
{
    u64 x = (byte_offset >> 3) * 0x9e3779b97f4a7c15ul + seed;
    x ^= x >> 29;
    return x;
}

enum class Media : u8 { Memory, Pattern };

struct Config {
    const char* name = "fake0";
    u64 capacity_bytes = 64 * MiB;
    Media media = Media::Memory;
    u32 logical_block_size = 512;
    u32 max_hw_sectors = 256; // 128 KiB per request
    u64 latency_ns = 20'000;
    u64 ns_per_kib = 0; // bandwidth: 0 = unlimited
};

class FakeDisk final : public block::BlockDriver {
public:
    static constexpr u64 BLOCK = PAGE_SIZE;

    // Requests, counted when the "device" finishes them.
    u64 reads() const { return AtomicRef(m_reads).load(MemoryOrder::Relaxed); }
    u64 writes() const { return AtomicRef(m_writes).load(MemoryOrder::Relaxed); }
    u64 flushes() const { return AtomicRef(m_flushes).load(MemoryOrder::Relaxed); }
    u64 read_bytes() const { return AtomicRef(m_read_bytes).load(MemoryOrder::Relaxed); }
    u64 write_bytes() const { return AtomicRef(m_write_bytes).load(MemoryOrder::Relaxed); }
    u64 corrupt_blocks() const { return AtomicRef(m_corrupt).load(MemoryOrder::Relaxed); }
    u32 largest_request() const { return m_largest; }
    block::BlockDevice& device() { return *m_device; }

    void set_bandwidth(u64 ns_per_kib) { m_config.ns_per_kib = ns_per_kib; }
    // Requests touching this sector fail with EIO (~0: none).
    void set_fail_sector(u64 sector) { AtomicRef(m_fail_sector).store(sector, MemoryOrder::Relaxed); }

    // Reads queued while held stay on the device, neither transferred nor
    // completed, until release_held_reads(): a read deterministically in
    // flight (the data are copied when it completes, so what it returns is
    // what the disk holds then).
    void hold_reads(bool hold)
    {
        SpinLockGuard guard(m_lock);
        m_hold_reads = hold;
    }
    u32 held_reads()
    {
        SpinLockGuard guard(m_lock);
        return m_held_count;
    }
    void release_held_reads()
    {
        SpinLockGuard guard(m_lock);
        const u64 now = clock_ns();
        for (u32 i = 0; i < m_held_count; i++)
            m_pending[m_pending_count++] = Pending {m_held[i], now};
        m_held_count = 0;
        if (m_pending_count && !m_armed) {
            m_armed = true;
            timer_arm(m_timer, now, on_timer);
        }
    }

    static FakeDisk* create(const Config& config)
    {
        auto* disk = new FakeDisk();
        if (!disk)
            return nullptr;
        disk->m_config = config;
        const u64 blocks = config.capacity_bytes / BLOCK;
        if (config.media == Media::Memory)
            disk->m_pages = static_cast<Page**>(kzalloc(blocks * sizeof(Page*)));
        else
            disk->m_seeds = static_cast<u64*>(kzalloc(blocks * sizeof(u64)));
        if (!disk->m_pages && !disk->m_seeds)
            return nullptr;
        block::TagSetConfig set_config;
        set_config.name = config.name;
        set_config.driver = disk;
        set_config.interrupt_queues = 1;
        set_config.queue_depth = 32;
        auto set = block::TagSet::create(set_config);
        if (set.is_error())
            return nullptr;
        block::DeviceInfo info;
        memcpy(info.name, config.name, strlen(config.name) + 1);
        info.capacity_sectors = config.capacity_bytes >> block::SECTOR_SHIFT;
        info.limits.logical_block_size = config.logical_block_size;
        info.limits.physical_block_size = config.logical_block_size;
        info.limits.max_hw_sectors = config.max_hw_sectors;
        info.limits.max_segments = 64;
        info.limits.write_cache = true;
        auto device = block::BlockDevice::create(info, *set.value(), disk);
        (void)set.release_value().leak(); // the fake disk lives as long as the kernel
        if (device.is_error())
            return nullptr;
        disk->m_device = device.release_value().leak();
        disk->m_timer.context = disk;
        return disk;
    }

    // Behind the cache's back (Memory media).
    void poke(u64 offset, const void* data, u64 length) { copy(offset, const_cast<void*>(data), length, true); }
    void peek(u64 offset, void* data, u64 length) { copy(offset, data, length, false); }

    block::QueueStatus queue_request(block::HwQueue&, block::Request& request, bool) override
    {
        const u64 now = clock_ns();
        const u64 service = m_config.latency_ns + (request.size_bytes / 1024) * m_config.ns_per_kib;
        SpinLockGuard guard(m_lock);
        if (m_pending_count + m_held_count == MAX_PENDING)
            return block::QueueStatus::Busy;
        if (m_hold_reads && request.op == block::BioOp::Read) {
            m_held[m_held_count++] = &request;
            return block::QueueStatus::Ok;
        }
        const u64 due = max(now, m_busy_until) + service;
        m_busy_until = due;
        m_pending[m_pending_count++] = Pending {&request, due};
        if (!m_armed) {
            m_armed = true;
            timer_arm(m_timer, due, on_timer);
        }
        return block::QueueStatus::Ok;
    }

private:
    static constexpr u32 MAX_PENDING = 64;
    struct Pending {
        block::Request* request;
        u64 due_ns;
    };

    FakeDisk() = default;

    static void on_timer(Timer& timer)
    {
        auto* disk = static_cast<FakeDisk*>(timer.context);
        disk->complete_due();
    }

    void complete_due()
    {
        block::Request* done[MAX_PENDING];
        u32 n = 0;
        {
            SpinLockGuard guard(m_lock);
            const u64 now = clock_ns();
            u32 kept = 0;
            u64 next_due = ~0ul;
            for (u32 i = 0; i < m_pending_count; i++) {
                if (m_pending[i].due_ns <= now) {
                    m_max_lateness_ns = max(m_max_lateness_ns, now - m_pending[i].due_ns);
                    done[n++] = m_pending[i].request;
                } else {
                    next_due = min(next_due, m_pending[i].due_ns);
                    m_pending[kept++] = m_pending[i];
                }
            }
            m_pending_count = kept;
            if (kept) {
                timer_arm(m_timer, next_due, on_timer);
            } else {
                m_armed = false;
            }
        }
        for (u32 i = 0; i < n; i++)
            finish(*done[i]);
    }

    void finish(block::Request& r)
    {
        int error = 0;
        const u64 fail = AtomicRef(m_fail_sector).load(MemoryOrder::Relaxed);
        if (r.op == block::BioOp::Flush) {
            AtomicRef(m_flushes).fetch_add(1, MemoryOrder::Relaxed);
        } else if (r.sector <= fail && fail < r.end_sector()) {
            error = EIO;
        } else {
            u64 offset = r.sector << block::SECTOR_SHIFT;
            const bool write = r.op == block::BioOp::Write;
            for (block::Bio* bio = r.bio_head; bio; bio = bio->next) {
                block::for_each_segment(*bio, [&](const block::BioSegment& s) {
                    u8* memory = static_cast<u8*>(mm::page_address(s.page)) + s.offset;
                    transfer(offset, memory, s.length, write);
                    offset += s.length;
                });
            }
            if (write) {
                AtomicRef(m_writes).fetch_add(1, MemoryOrder::Relaxed);
                AtomicRef(m_write_bytes).fetch_add(r.size_bytes, MemoryOrder::Relaxed);
            } else {
                AtomicRef(m_reads).fetch_add(1, MemoryOrder::Relaxed);
                AtomicRef(m_read_bytes).fetch_add(r.size_bytes, MemoryOrder::Relaxed);
            }
            if (r.size_bytes > m_largest)
                m_largest = r.size_bytes;
        }
        block::complete_request(r, error);
    }

    void transfer(u64 offset, u8* memory, u64 length, bool write)
    {
        if (m_config.media == Media::Memory) {
            copy(offset, memory, length, write);
            return;
        }
        // Pattern media: whole-word pieces of 4 KiB blocks.
        while (length) {
            const u64 block = offset / BLOCK;
            const u64 in_block = min(BLOCK - offset % BLOCK, length);
            u64* words = reinterpret_cast<u64*>(memory);
            const u64 count = in_block / 8;
            if (write) {
                const u64 recovered = recover_seed(offset, words[0]);
                bool ok = true;
                for (u64 i = 0; i < count; i += 64)
                    ok &= words[i] == pattern_word(offset + i * 8, recovered);
                ok &= words[count - 1] == pattern_word(offset + (count - 1) * 8, recovered);
                if (!ok)
                    AtomicRef(m_corrupt).fetch_add(1, MemoryOrder::Relaxed);
                m_seeds[block] = recovered;
            } else {
                const u64 seed = m_seeds[block];
                if (seed == 0) {
                    memset(memory, 0, in_block);
                } else {
                    for (u64 i = 0; i < count; i++)
                        words[i] = pattern_word(offset + i * 8, seed);
                }
            }
            offset += in_block;
            memory += in_block;
            length -= in_block;
        }
    }

    // pattern_word(o, s) = f(k + s) with k = (o >> 3) * C and f(x) = x ^ (x >> 29),
    // which is invertible: undo the xorshift, subtract k.
    static u64 recover_seed(u64 offset, u64 word)
    {
        u64 x = word;
        x ^= x >> 29;
        x ^= x >> 58;
        return x - (offset >> 3) * 0x9e3779b97f4a7c15ul;
    }

    void copy(u64 offset, void* data, u64 length, bool to_disk)
    {
        u8* bytes = static_cast<u8*>(data);
        while (length) {
            const u64 block = offset / BLOCK;
            const u64 in_block = min(BLOCK - offset % BLOCK, length);
            Page*& page = m_pages[block];
            if (!page && to_disk) {
                Page* fresh = mm::alloc_page(mm::ALLOC_ZERO);
                Page* expected = nullptr;
                if (fresh && !AtomicRef(page).compare_exchange_strong(expected, fresh, MemoryOrder::AcqRel, MemoryOrder::Acquire))
                    mm::free_page(fresh);
            }
            Page* now = AtomicRef(page).load(MemoryOrder::Acquire);
            if (now) {
                u8* disk = static_cast<u8*>(mm::page_address(now)) + offset % BLOCK;
                if (to_disk)
                    memcpy(disk, bytes, in_block);
                else
                    memcpy(bytes, disk, in_block);
            } else if (!to_disk) {
                memset(bytes, 0, in_block);
            }
            offset += in_block;
            bytes += in_block;
            length -= in_block;
        }
    }

    Config m_config;
    block::BlockDevice* m_device = nullptr;
    Page** m_pages = nullptr;
    u64* m_seeds = nullptr;
    SpinLock m_lock{LockRank::Driver, "fake disk"};
    Pending m_pending[MAX_PENDING];
    u32 m_pending_count = 0;
    block::Request* m_held[MAX_PENDING];
    u32 m_held_count = 0;
    bool m_hold_reads = false;
    bool m_armed = false;
    u64 m_busy_until = 0;
    Timer m_timer;
    u64 m_reads = 0;
    u64 m_writes = 0;
    u64 m_flushes = 0;
    u64 m_read_bytes = 0;
    u64 m_write_bytes = 0;
    u64 m_corrupt = 0;
    u32 m_largest = 0;
    u64 m_fail_sector = ~0ul;

public:
    // How late the timer "interrupt" ran at worst (diagnostics).
    u64 m_max_lateness_ns = 0;
};

} // namespace fakedisk
