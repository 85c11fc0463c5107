// Page-cache counters: what /proc/meminfo prints (Cached, Dirty, Writeback)
// and what the tests compare before and after a workload. Global, atomic,
// in pages unless the name says otherwise.
#pragma once

#include "kernel/lib/Atomic.h"
#include "kernel/lib/Types.h"

namespace pagecache {

struct Counters {
    u64 cached;        // pages in any mapping
    u64 dirty;         // PAGE_DIRTY pages
    u64 writeback;     // PAGE_WRITEBACK pages
    u64 active;        // on the active LRU list
    u64 inactive;      // on the inactive LRU list
    u64 pages_read;    // pages read from devices (readahead and single reads)
    u64 read_bios;     // read bios submitted
    u64 pages_written; // pages written back
    u64 write_bios;    // write bios submitted
    u64 reclaimed;     // pages dropped by reclaim
    u64 throttled;     // times a writer slept on the hard dirty threshold
    u64 max_dirty_seen; // highest dirty + writeback observed by a writer
    u64 direct_io_drain_waits; // truncations that waited for direct I/O in flight
};

Counters counters();

namespace counter {
// Atomic counter cells (fs/pagecache internal).
enum Id : u32 {
    CACHED,
    DIRTY,
    WRITEBACK,
    PAGES_READ,
    READ_BIOS,
    PAGES_WRITTEN,
    WRITE_BIOS,
    RECLAIMED,
    THROTTLED,
    MAX_DIRTY_SEEN,
    DIRECT_IO_DRAIN_WAITS,
    COUNT,
};
extern Atomic<u64> g_cells[COUNT];
inline void add(Id id, i64 delta) { g_cells[id].fetch_add(static_cast<u64>(delta), MemoryOrder::Relaxed); }
inline u64 get(Id id) { return g_cells[id].load(MemoryOrder::Relaxed); }
// Tests: zero the event counters (not the state counters).
void reset_events();
} // namespace counter

} // namespace pagecache
