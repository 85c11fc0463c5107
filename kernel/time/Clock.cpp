#include "kernel/time/Clock.h"

#include "arch/x86_64/Cpu.h"

namespace {

// ns = (tsc_delta * g_mult) >> MULT_SHIFT, computed in 128 bits so that it
// neither overflows nor loses precision for any realistic uptime.
constexpr unsigned MULT_SHIFT = 32;
u64 g_tsc_at_boot = 0;
u64 g_mult = 0;
u64 g_tsc_hz = 0;

} // namespace

// The TSC counts from reset; taking the boot reference here (first use from
// kernel entry) is close enough to "kernel entry" for log timestamps.
__attribute__((constructor)) static void record_boot_tsc() { g_tsc_at_boot = x86::rdtsc(); }

void clock_set_tsc_frequency(u64 tsc_hz)
{
    g_tsc_hz = tsc_hz;
    g_mult = static_cast<u64>((static_cast<unsigned __int128>(1000000000ull) << MULT_SHIFT) / tsc_hz);
}

u64 tsc_frequency_hz() { return g_tsc_hz; }

u64 tsc_to_ns(u64 tsc_delta) { return static_cast<u64>((static_cast<unsigned __int128>(tsc_delta) * g_mult) >> MULT_SHIFT); }

u64 ns_to_tsc(u64 ns) { return static_cast<u64>(static_cast<unsigned __int128>(ns) * g_tsc_hz / 1000000000ull); }

u64 clock_ns_to_tsc(u64 clock_ns) { return g_tsc_at_boot + ns_to_tsc(clock_ns); }

u64 clock_ns()
{
    if (!g_mult)
        return 0;
    return tsc_to_ns(x86::rdtsc() - g_tsc_at_boot);
}
