#include "kernel/block/DiskStats.h"

#include "kernel/lib/Atomic.h"
#include "kernel/lib/Format.h"

namespace block {

namespace {
constexpr u64 NS_PER_MS = 1'000'000;

// Statistics: relaxed, nothing is published through them.
void add(Atomic<u64>& counter, u64 value) { counter.fetch_add(value, MemoryOrder::Relaxed); }
u64 load(const Atomic<u64>& counter) { return counter.load(MemoryOrder::Relaxed); }
} // namespace

void DiskStats::update_io_ticks(u64 now_ns, bool ending)
{
    u64 stamp = m_stamp_ns.load(MemoryOrder::Relaxed);
    if (now_ns <= stamp)
        return;
    if (!m_stamp_ns.compare_exchange_strong(stamp, now_ns, MemoryOrder::Relaxed, MemoryOrder::Relaxed))
        return;
    if (ending || in_flight() > 0)
        add(m_io_ticks_ns, now_ns - stamp);
}

void DiskStats::start_io(u64 now_ns)
{
    update_io_ticks(now_ns, false);
    add(m_in_flight, 1);
}

void DiskStats::end_io(StatGroup group, u32 sectors, u64 duration_ns, u64 now_ns)
{
    const u32 g = static_cast<u32>(group);
    update_io_ticks(now_ns, true);
    add(m_ios[g], 1);
    add(m_sectors[g], sectors);
    add(m_ns[g], duration_ns);
    m_in_flight.fetch_sub(1, MemoryOrder::Relaxed);
}

void DiskStats::merged(StatGroup group) { add(m_merges[static_cast<u32>(group)], 1); }

DiskStatsSnapshot DiskStats::snapshot() const
{
    DiskStatsSnapshot s {};
    u64 total_ns = 0;
    for (u32 g = 0; g < STAT_GROUPS; g++) {
        s.ios[g] = load(m_ios[g]);
        s.merges[g] = load(m_merges[g]);
        s.sectors[g] = load(m_sectors[g]);
        const u64 ns = load(m_ns[g]);
        s.ms[g] = ns / NS_PER_MS;
        total_ns += ns;
    }
    s.in_flight = load(m_in_flight);
    s.io_ticks_ms = load(m_io_ticks_ns) / NS_PER_MS;
    // Linux (since 5.x) reports the sum of all groups' service times here.
    s.time_in_queue_ms = total_ns / NS_PER_MS;
    return s;
}

usize format_diskstats_line(char* buffer, usize size, u32 major, u32 minor, const char* name,
                            const DiskStatsSnapshot& s)
{
    constexpr u32 R = 0, W = 1, D = 2, F = 3;
    // Linux block/genhd.c diskstats_show(): the "%u" fields are 32-bit there.
    return format_string(buffer, size,
                         "%4u %7u %s "
                         "%lu %lu %lu %u "
                         "%lu %lu %lu %u "
                         "%u %u %u "
                         "%lu %lu %lu %u "
                         "%lu %u\n",
                         major, minor, name, s.ios[R], s.merges[R], s.sectors[R], static_cast<u32>(s.ms[R]),
                         s.ios[W], s.merges[W], s.sectors[W], static_cast<u32>(s.ms[W]),
                         static_cast<u32>(s.in_flight), static_cast<u32>(s.io_ticks_ms),
                         static_cast<u32>(s.time_in_queue_ms), s.ios[D], s.merges[D], s.sectors[D],
                         static_cast<u32>(s.ms[D]), s.ios[F], static_cast<u32>(s.ms[F]));
}

} // namespace block
