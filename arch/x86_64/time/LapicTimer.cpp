#include "arch/x86_64/time/LapicTimer.h"

#include "arch/x86_64/Cpu.h"
#include "arch/x86_64/apic/Lapic.h"
#include "arch/x86_64/time/TscCalibration.h"
#include "kernel/irq/Irq.h"
#include "kernel/log/Log.h"
#include "kernel/time/Clock.h"

namespace lapic_timer {
namespace {

bool g_use_tsc_deadline = false;
u64 g_ticks_per_second = 0; // one-shot mode, after the divider
constexpr u64 CALIBRATION_US = 10000;
// The shortest one-shot interval: below this the interrupt would race the
// end of the handler that programmed it for no benefit.
constexpr u64 MIN_DELTA_NS = 2000;

} // namespace

void calibrate()
{
    g_use_tsc_deadline = lapic::timer::has_tsc_deadline();
    if (g_use_tsc_deadline) {
        log_info("time", "LAPIC timer: TSC-deadline mode");
        return;
    }
    // Count down from the maximum for a TSC-measured interval (SDM Vol. 3A
    // §11.5.4: the count runs at the bus clock / divider, whatever the LVT mask).
    constexpr u32 START = 0xffffffff;
    lapic::timer::arm_oneshot(irq::VECTOR_TIMER, START);
    u64 tsc_start = x86::rdtsc();
    tsc::delay_us(CALIBRATION_US);
    u32 remaining = lapic::timer::current_count();
    u64 tsc_end = x86::rdtsc();
    lapic::timer::stop();
    u64 elapsed_ns = tsc_to_ns(tsc_end - tsc_start);
    g_ticks_per_second = static_cast<u64>(static_cast<unsigned __int128>(START - remaining) * 1000000000ull / elapsed_ns);
    log_info("time", "LAPIC timer: one-shot mode, %lu.%03lu MHz after divide-by-%u",
             g_ticks_per_second / 1000000, (g_ticks_per_second / 1000) % 1000, lapic::timer::DIVIDER);
}

void program(u64 deadline_ns)
{
    if (g_use_tsc_deadline) {
        lapic::timer::arm_tsc_deadline(irq::VECTOR_TIMER, clock_ns_to_tsc(deadline_ns));
        return;
    }
    u64 now = clock_ns();
    u64 delta_ns = deadline_ns > now + MIN_DELTA_NS ? deadline_ns - now : MIN_DELTA_NS;
    u64 ticks = static_cast<u64>(static_cast<unsigned __int128>(delta_ns) * g_ticks_per_second / 1000000000ull);
    lapic::timer::arm_oneshot(irq::VECTOR_TIMER, static_cast<u32>(min<u64>(max<u64>(ticks, 1), 0xffffffffu)));
}

} // namespace lapic_timer
