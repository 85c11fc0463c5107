// Per-device I/O statistics with exactly the fields of Linux's
// /proc/diskstats (Documentation/admin-guide/iostats.rst), so a procfs view
// can print them unchanged:
//
//   major minor name
//   reads completed, reads merged, sectors read, ms reading,
//   writes completed, writes merged, sectors written, ms writing,
//   I/Os in progress, ms doing I/O (io_ticks), weighted ms (time in queue),
//   discards completed, discards merged, sectors discarded, ms discarding,
//   flushes completed, ms flushing
//
// Counters are updated with atomics from any CPU, including the completion
// interrupt; a snapshot is not one consistent instant (neither is Linux's).
#pragma once

#include "kernel/block/Bio.h"
#include "kernel/lib/Atomic.h"
#include "kernel/lib/Types.h"

namespace block {

enum class StatGroup : u8 { Read = 0, Write = 1, Discard = 2, Flush = 3 };

constexpr StatGroup stat_group(BioOp op)
{
    switch (op) {
    case BioOp::Read: return StatGroup::Read;
    case BioOp::Write: return StatGroup::Write;
    case BioOp::Flush: return StatGroup::Flush;
    }
    return StatGroup::Read;
}
constexpr u32 STAT_GROUPS = 4;

struct DiskStatsSnapshot {
    u64 ios[STAT_GROUPS];
    u64 merges[STAT_GROUPS];
    u64 sectors[STAT_GROUPS];
    u64 ms[STAT_GROUPS];
    u64 in_flight;
    u64 io_ticks_ms;
    u64 time_in_queue_ms;
};

class DiskStats {
public:
    // A request starts (was issued towards the device) at `now_ns`.
    void start_io(u64 now_ns);
    // A request of `group` ends after `duration_ns` (from its start).
    void end_io(StatGroup group, u32 sectors, u64 duration_ns, u64 now_ns);
    // A bio was merged into an existing request.
    void merged(StatGroup group);

    DiskStatsSnapshot snapshot() const;
    u64 in_flight() const { return m_in_flight.load(MemoryOrder::Relaxed); }

private:
    // io_ticks: time with at least one I/O in flight (Linux update_io_ticks):
    // whoever moves the stamp forward accounts the interval since the old one.
    void update_io_ticks(u64 now_ns, bool ending);

    Atomic<u64> m_ios[STAT_GROUPS];
    Atomic<u64> m_merges[STAT_GROUPS];
    Atomic<u64> m_sectors[STAT_GROUPS];
    Atomic<u64> m_ns[STAT_GROUPS];
    Atomic<u64> m_in_flight;
    Atomic<u64> m_io_ticks_ns;
    Atomic<u64> m_stamp_ns;
};

// One /proc/diskstats line (with the trailing newline), as Linux's
// diskstats_show() prints it. Returns the length it needed (like snprintf).
usize format_diskstats_line(char* buffer, usize size, u32 major, u32 minor, const char* name,
                            const DiskStatsSnapshot& stats);

} // namespace block
