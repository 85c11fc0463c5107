#include "arch/x86_64/apic/Lapic.h"

#include "arch/x86_64/Cpu.h"
#include "kernel/debug/Panic.h"
#include "kernel/irq/Irq.h"
#include "kernel/log/Log.h"
#include "arch/x86_64/mm/Mmio.h"

namespace lapic {
namespace {

// IA32_APIC_BASE, SDM §11.4.4 Figure 11-5.
constexpr u32 MSR_APIC_BASE = 0x1b;
constexpr u64 APIC_BASE_ENABLE = 1ul << 11;
constexpr u64 APIC_BASE_X2APIC = 1ul << 10;
constexpr u64 APIC_BASE_ADDRESS_MASK = 0x000ffffffffff000ul;
constexpr u32 MSR_TSC_DEADLINE = 0x6e0;
// x2APIC registers are MSRs 0x800 + (xAPIC offset >> 4), SDM §11.12.1.2.
constexpr u32 MSR_X2APIC_BASE = 0x800;

// Register offsets in the xAPIC page, SDM §11.4.1 Table 11-1.
constexpr u32 REG_ID = 0x020;
constexpr u32 REG_TPR = 0x080;
constexpr u32 REG_EOI = 0x0b0;
constexpr u32 REG_SVR = 0x0f0;
constexpr u32 REG_ESR = 0x280;
constexpr u32 REG_ICR_LOW = 0x300;
constexpr u32 REG_ICR_HIGH = 0x310;
constexpr u32 REG_LVT_TIMER = 0x320;
constexpr u32 REG_LVT_THERMAL = 0x330;
constexpr u32 REG_LVT_PERF = 0x340;
constexpr u32 REG_LVT_LINT0 = 0x350;
constexpr u32 REG_LVT_LINT1 = 0x360;
constexpr u32 REG_LVT_ERROR = 0x370;
constexpr u32 REG_TIMER_INITIAL = 0x380;
constexpr u32 REG_TIMER_CURRENT = 0x390;
constexpr u32 REG_TIMER_DIVIDE = 0x3e0;

constexpr u32 SVR_ENABLE = 1 << 8;
constexpr u32 LVT_MASKED = 1 << 16;
constexpr u32 LVT_DELIVERY_NMI = 4 << 8;
// LVT timer modes, SDM §11.5.4 Figure 11-8.
constexpr u32 LVT_TIMER_ONESHOT = 0 << 17;
constexpr u32 LVT_TIMER_TSC_DEADLINE = 2 << 17;
// Divide configuration 0b0011 = divide by 16, SDM §11.5.4 Figure 11-10.
constexpr u32 TIMER_DIVIDE_BY_16 = 0x3;

// ICR bits, SDM §11.6.1 Figure 11-12.
constexpr u32 ICR_DELIVERY_PENDING = 1 << 12;
// Polls of the delivery status before declaring the APIC stuck (far beyond
// the microseconds a real or emulated delivery takes).
constexpr u64 ICR_DELIVERY_SPIN_LIMIT = 100'000'000;
constexpr u32 ICR_LEVEL_ASSERT = 1 << 14;
constexpr u32 ICR_TRIGGER_LEVEL = 1 << 15;
constexpr u32 ICR_SHORTHAND_SELF = 1 << 18;
constexpr u32 ICR_SHORTHAND_ALL_BUT_SELF = 3 << 18;

// CPUID.01H:ECX, SDM Vol. 2A Table 3-10.
constexpr u32 CPUID1_ECX_X2APIC = 1 << 21;
constexpr u32 CPUID1_ECX_TSC_DEADLINE = 1 << 24;

bool g_x2apic = false;
bool g_ready = false;
bool g_tsc_deadline = false;
volatile u32* g_mmio = nullptr;

u32 read(u32 reg)
{
    if (g_x2apic)
        return static_cast<u32>(x86::rdmsr(MSR_X2APIC_BASE + (reg >> 4)));
    return g_mmio[reg / 4];
}

void write(u32 reg, u32 value)
{
    if (g_x2apic)
        x86::wrmsr(MSR_X2APIC_BASE + (reg >> 4), value);
    else
        g_mmio[reg / 4] = value;
}

// Interrupts stay off for the whole ICR sequence: in xAPIC mode it is two
// writes, and an interrupt handler sending its own IPI in between would mix
// destinations.
void write_icr(u32 destination, u32 low)
{
    bool were_enabled = x86::save_and_disable_interrupts();
    // Stores made before the IPI (a queued call, a TLB range) must be visible
    // to the target when it takes the interrupt; in x2APIC mode the WRMSR is
    // not serializing (SDM §11.12.3), so fence explicitly.
    asm volatile("mfence" : : : "memory");
    if (g_x2apic) {
        // One 64-bit write, destination in the high half (SDM §11.12.9);
        // there is no delivery status to poll.
        x86::wrmsr(MSR_X2APIC_BASE + (REG_ICR_LOW >> 4), (static_cast<u64>(destination) << 32) | low);
    } else {
        write(REG_ICR_HIGH, destination << 24);
        write(REG_ICR_LOW, low);
        // Delivery takes a few bus cycles; a status stuck at "pending" means
        // the APIC is broken, which is reported rather than hanging the CPU.
        for (u64 spins = 0; read(REG_ICR_LOW) & ICR_DELIVERY_PENDING; spins++) {
            if (spins == ICR_DELIVERY_SPIN_LIMIT)
                panic("LAPIC: IPI to APIC ID %u still pending after %lu polls", destination, spins);
            x86::pause();
        }
    }
    x86::restore_interrupts(were_enabled);
}

} // namespace

void init_boot()
{
    auto leaf1 = x86::cpuid(1);
    g_x2apic = leaf1.ecx & CPUID1_ECX_X2APIC;
    g_tsc_deadline = leaf1.ecx & CPUID1_ECX_TSC_DEADLINE;
    u64 base = x86::rdmsr(MSR_APIC_BASE);
    PhysAddr phys = base & APIC_BASE_ADDRESS_MASK;
    if (!g_x2apic) {
        // One 4 KiB register page (SDM §11.4.1), mapped uncached.
        g_mmio = static_cast<volatile u32*>(mm::map_mmio(phys, PAGE_SIZE));
        if (!g_mmio)
            panic("apic: cannot map the local APIC at 0x%lx", phys);
    }
    log_info("apic", "local APIC at 0x%lx, %s mode%s", phys, g_x2apic ? "x2APIC" : "xAPIC",
             g_tsc_deadline ? ", TSC-deadline timer" : "");
}

void init_this_cpu()
{
    u64 base = x86::rdmsr(MSR_APIC_BASE) | APIC_BASE_ENABLE;
    // SDM §11.12.1: enable xAPIC first, then set EXTD.
    x86::wrmsr(MSR_APIC_BASE, base);
    if (g_x2apic)
        x86::wrmsr(MSR_APIC_BASE, base | APIC_BASE_X2APIC);

    write(REG_TPR, 0);
    write(REG_LVT_TIMER, LVT_MASKED);
    write(REG_LVT_THERMAL, LVT_MASKED);
    write(REG_LVT_PERF, LVT_MASKED);
    // Legacy lines come through the IOAPIC, so LINT0 (ExtINT from the 8259)
    // is masked; LINT1 stays the NMI input as on every PC.
    write(REG_LVT_LINT0, LVT_MASKED);
    write(REG_LVT_LINT1, LVT_DELIVERY_NMI);
    write(REG_LVT_ERROR, LVT_MASKED);
    // SDM §11.5.3: write ESR before reading it; clear stale errors.
    write(REG_ESR, 0);
    write(REG_ESR, 0);
    // SDM §11.9: the spurious vector's low 4 bits must be 1s on old APICs; 0xff is.
    write(REG_SVR, SVR_ENABLE | irq::VECTOR_SPURIOUS);
    write(REG_TIMER_DIVIDE, TIMER_DIVIDE_BY_16);
    write(REG_EOI, 0);
    g_ready = true;
}

bool is_ready() { return g_ready; }
bool is_x2apic() { return g_x2apic; }

u32 id()
{
    if (g_x2apic)
        return read(REG_ID);
    return read(REG_ID) >> 24;
}

void eoi() { write(REG_EOI, 0); }

void send_ipi(u32 apic_id, u8 vector, Delivery delivery)
{
    write_icr(apic_id, (static_cast<u32>(delivery) << 8) | ICR_LEVEL_ASSERT | vector);
}

void send_ipi_self(u8 vector) { write_icr(0, ICR_SHORTHAND_SELF | ICR_LEVEL_ASSERT | vector); }

void send_ipi_all_but_self(u8 vector, Delivery delivery)
{
    write_icr(0, ICR_SHORTHAND_ALL_BUT_SELF | (static_cast<u32>(delivery) << 8) | ICR_LEVEL_ASSERT | vector);
}

void send_init(u32 apic_id)
{
    // INIT level assert (SDM §9.4.4.1); the de-assert is not needed on
    // anything newer than the 82489DX.
    write_icr(apic_id, (static_cast<u32>(Delivery::Init) << 8) | ICR_LEVEL_ASSERT | ICR_TRIGGER_LEVEL);
}

void send_startup(u32 apic_id, u8 start_page)
{
    write_icr(apic_id, (static_cast<u32>(Delivery::Startup) << 8) | ICR_LEVEL_ASSERT | start_page);
}

namespace timer {

bool has_tsc_deadline() { return g_tsc_deadline; }

void arm_oneshot(u8 vector, u32 ticks)
{
    write(REG_LVT_TIMER, LVT_TIMER_ONESHOT | vector);
    write(REG_TIMER_INITIAL, ticks ? ticks : 1);
}

void arm_tsc_deadline(u8 vector, u64 tsc)
{
    write(REG_LVT_TIMER, LVT_TIMER_TSC_DEADLINE | vector);
    // SDM §11.5.4.1: the switch to TSC-deadline mode must be visible before
    // the deadline MSR is written (wrmsr to the deadline is not serializing).
    asm volatile("mfence" : : : "memory");
    x86::wrmsr(MSR_TSC_DEADLINE, tsc);
}

void stop()
{
    write(REG_LVT_TIMER, LVT_MASKED);
    write(REG_TIMER_INITIAL, 0);
    if (g_tsc_deadline)
        x86::wrmsr(MSR_TSC_DEADLINE, 0);
}

u32 current_count() { return read(REG_TIMER_CURRENT); }

} // namespace timer

} // namespace lapic
