// Writeback: getting dirty pages to the device, and keeping their number
// bounded.
//
// One Writeback per block device (Linux's bdi_writeback): the list of its
// mappings that have dirty pages (oldest first), per-device Dirty and
// Writeback counts, and a thread "wb-<device>" that writes
//   - periodically (every WRITEBACK_PERIOD_NS) the spaces dirty for longer
//     than DIRTY_EXPIRE_NS,
//   - continuously while the global dirty count is above the background
//     threshold,
//   - everything when asked (sync, reclaim).
// Writers call balance_dirty_pages() after dirtying a page: above the
// background threshold it kicks the thread; above the hard threshold the
// writer sleeps until write completions bring dirty + writeback pages back
// under it (the backpressure a slow device needs).
//
// Thresholds, as Linux's vm.dirty_background_ratio / vm.dirty_ratio, are
// fractions of the "dirtyable" memory (free pages + page-cache pages):
// 10% and 20%, with small floors so tiny guests still batch their writes.
#pragma once

#include "fs/pagecache/Mapping.h"
#include "kernel/lib/Atomic.h"
#include "kernel/lib/Result.h"
#include "kernel/sync/WaitQueue.h"

class Thread;

namespace pagecache {

constexpr u64 WRITEBACK_PERIOD_NS = 500'000'000ul;  // Linux: 5 s; short for small guests
constexpr u64 DIRTY_EXPIRE_NS = 3'000'000'000ul;    // Linux: 30 s
constexpr u64 DIRTY_BACKGROUND_PERCENT = 10;
constexpr u64 DIRTY_HARD_PERCENT = 20;
constexpr u64 DIRTY_MIN_HARD_PAGES = 64;

struct DirtyLimits {
    u64 background_pages;
    u64 hard_pages;
};
DirtyLimits dirty_limits();
// Tests: fixed limits instead of the percentages (0, 0 restores them).
void set_dirty_limits_override(u64 background_pages, u64 hard_pages);
// How long a page may stay dirty before the periodic pass writes it
// (DIRTY_EXPIRE_NS unless changed; tests shorten it).
u64 dirty_expire_ns();
void set_dirty_expire_ns(u64 expire_ns);

enum class SyncMode : u8 {
    Background, // skip pages already under writeback, stop after nr_to_write
    Integrity,  // every page dirty when the call began (TOWRITE), waiting for
                // pages under writeback first (fsync)
};

struct WritebackControl {
    u64 first_index = 0;
    u64 last_index = ~0ul;
    SyncMode mode = SyncMode::Background;
    u64 nr_to_write = ~0ul; // pages; decremented as pages are started
};

// Start writing the dirty pages of `space` in the control's range (locks each
// page, moves it to Writeback, batches runs into write_pages). Returns 0 or
// the first error of the mapping/submission (I/O errors arrive later).
void write_dirty_pages(Mapping& space, WritebackControl& control);

// Write every dirty page of [start_byte, end_byte] and wait for all writeback
// in the range; returns the space's recorded write error (EIO) if any.
Result<void> write_and_wait_range(Mapping& space, u64 start_byte, u64 end_byte);
// Wait for pages under writeback in the range (no new writes).
void wait_writeback_range(Mapping& space, u64 start_byte, u64 end_byte);
// A Flush to the device: completed writes become durable.
Result<void> flush_device(block::BlockDevice& device);
// fsync/fdatasync for the data of a range: write, wait, flush. The
// filesystem writes its inode in between for fsync (metadata), so the two
// differ only in what the caller adds.
Result<void> fsync_range(Mapping& space, u64 start_byte, u64 end_byte);
inline Result<void> fdatasync_range(Mapping& space, u64 start_byte, u64 end_byte)
{
    return fsync_range(space, start_byte, end_byte);
}

// After dirtying pages of `space`: kick writeback, throttle above the hard limit.
void balance_dirty_pages(Mapping& space);
// A write completed (any context): wakes throttled writers once under the limit.
void writeback_completed();

class Writeback {
public:
    // The device's writeback context, created (with its thread) on first use.
    // A context whose device was removed is taken over (its thread reused).
    static Result<Writeback*> for_device(block::BlockDevice& device);
    // `device` is being removed and has no spaces left: its context becomes
    // free for the next device (threads are not stopped, contexts not freed).
    static void forget_device(block::BlockDevice& device);

    block::BlockDevice* device() const { return m_device.load(MemoryOrder::Acquire); }
    u64 dirty_pages() const { return m_dirty.load(MemoryOrder::Relaxed); }
    u64 writeback_pages() const { return m_writeback.load(MemoryOrder::Relaxed); }

    // Mapping hooks.
    void account_dirty(i64 delta) { m_dirty.fetch_add(static_cast<u64>(delta), MemoryOrder::Relaxed); }
    void account_writeback(i64 delta) { m_writeback.fetch_add(static_cast<u64>(delta), MemoryOrder::Relaxed); }
    void note_dirty(Mapping& space);  // space has a dirty page now
    void detach(Mapping& space);     // waits while the thread works on it

    // Wake the thread: `all` asks it to write everything once.
    void kick(bool all = false);
    // Write every dirty space of the device now, from the caller's thread.
    void write_all(SyncMode mode);

    // All devices' contexts (for sync and reclaim).
    static usize count();
    static Writeback* at(usize index);

private:
    explicit Writeback(block::BlockDevice& device) : m_device(&device) { }
    void run();
    // One pass: writes spaces (oldest first); `expired_only`: only those dirty
    // for longer than DIRTY_EXPIRE_NS; stops when `budget` pages were started.
    void pass(bool expired_only, u64 budget);
    Mapping* pick(bool expired_only, u64 now_ns);
    void put_back(Mapping& space);

    Atomic<block::BlockDevice*> m_device;
    Thread* m_thread = nullptr;
    Atomic<u64> m_dirty{0};
    Atomic<u64> m_writeback{0};
    Atomic<bool> m_kicked{false};
    Atomic<bool> m_write_all{false};
    SpinLock m_lock{LockRank::Writeback, "writeback list"};
    IntrusiveList<Mapping, &Mapping::m_dirty_node> m_spaces; // under m_lock
    WaitQueue m_wake;  // the thread sleeps here
    WaitQueue m_idle;  // detach() waits here for m_writeback_busy to clear
};

// Write back all devices' dirty pages and wait (sync(2) without the flush).
void sync_all();


} // namespace pagecache
