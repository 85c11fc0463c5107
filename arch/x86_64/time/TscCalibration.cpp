#include "arch/x86_64/time/TscCalibration.h"

#include "arch/x86_64/Cpu.h"
#include "kernel/debug/Panic.h"
#include "kernel/log/Log.h"
#include "kernel/time/Clock.h"

namespace tsc {
namespace {

// The 8254 PIT, clocked at 1.193182 MHz on every PC. Channel 2 is the one
// whose gate software controls and whose output it can read (port 0x61),
// which makes it a stopwatch without interrupts.
constexpr u64 PIT_HZ = 1193182;
constexpr u16 PIT_CHANNEL2_DATA = 0x42;
constexpr u16 PIT_COMMAND = 0x43;
// Channel 2, lobyte/hibyte access, mode 0 (interrupt on terminal count), binary.
constexpr u8 PIT_CHANNEL2_MODE0 = 0xb0;
constexpr u16 SYSTEM_CONTROL_PORT_B = 0x61;
constexpr u8 PORT_B_GATE2 = 1 << 0;
constexpr u8 PORT_B_SPEAKER = 1 << 1;
constexpr u8 PORT_B_OUT2 = 1 << 5;

constexpr u64 CALIBRATION_WINDOW_MS = 5;
constexpr int CALIBRATION_ROUNDS = 3;
// Give up on a PIT that never reaches terminal count (absent, or gate 2 not
// wired, as on some virtual machines) instead of spinning forever: 2^34 TSC
// ticks is seconds at any real TSC rate, against a 5 ms window.
constexpr u64 PIT_WAIT_MAX_TSC_TICKS = 1ul << 34;

// TSC ticks during one PIT countdown of `ms` milliseconds.
u64 measure_with_pit(u64 ms)
{
    u16 latch = static_cast<u16>(PIT_HZ * ms / 1000);
    u8 port_b = x86::inb(SYSTEM_CONTROL_PORT_B);
    x86::outb(SYSTEM_CONTROL_PORT_B, (port_b & ~PORT_B_SPEAKER) | PORT_B_GATE2);
    x86::outb(PIT_COMMAND, PIT_CHANNEL2_MODE0);
    x86::outb(PIT_CHANNEL2_DATA, latch & 0xff);
    x86::outb(PIT_CHANNEL2_DATA, latch >> 8);
    // Mode 0: OUT2 goes low on the count write and high at terminal count.
    u64 start = x86::rdtsc();
    u64 end = start;
    while (!(x86::inb(SYSTEM_CONTROL_PORT_B) & PORT_B_OUT2)) {
        end = x86::rdtsc();
        if (end - start > PIT_WAIT_MAX_TSC_TICKS)
            panic("time: PIT channel 2 never reached terminal count: cannot calibrate the TSC");
    }
    end = x86::rdtsc();
    x86::outb(SYSTEM_CONTROL_PORT_B, port_b);
    return (end - start) * 1000 / ms;
}

// SDM Vol. 2A CPUID leaf 15H: TSC = crystal (ECX) * EBX / EAX, when all are given.
u64 frequency_from_cpuid()
{
    if (x86::cpuid(0).eax < 0x15)
        return 0;
    auto leaf = x86::cpuid(0x15);
    if (!leaf.eax || !leaf.ebx || !leaf.ecx)
        return 0;
    return static_cast<u64>(leaf.ecx) * leaf.ebx / leaf.eax;
}

} // namespace

void calibrate()
{
    u64 hz = frequency_from_cpuid();
    const char* source = "CPUID 0x15";
    if (!hz) {
        // The median of a few short rounds: a round stretched by the host
        // descheduling us (TCG) does not decide the answer.
        u64 rounds[CALIBRATION_ROUNDS];
        for (int i = 0; i < CALIBRATION_ROUNDS; i++)
            rounds[i] = measure_with_pit(CALIBRATION_WINDOW_MS);
        for (int i = 0; i < CALIBRATION_ROUNDS; i++) {
            for (int j = i + 1; j < CALIBRATION_ROUNDS; j++) {
                if (rounds[j] < rounds[i]) {
                    u64 t = rounds[i];
                    rounds[i] = rounds[j];
                    rounds[j] = t;
                }
            }
        }
        hz = rounds[CALIBRATION_ROUNDS / 2];
        source = "PIT";
    }
    clock_set_tsc_frequency(hz);
    log_info("time", "TSC %lu.%03lu MHz (%s)", hz / 1000000, (hz / 1000) % 1000, source);
}

void delay_us(u64 us)
{
    u64 end = x86::rdtsc() + ns_to_tsc(us * 1000);
    while (x86::rdtsc() < end)
        x86::pause();
}

} // namespace tsc
