#include "arch/x86_64/apic/IoApic.h"

#include "arch/x86_64/acpi/Acpi.h"
#include "kernel/log/Log.h"
#include "arch/x86_64/mm/Mmio.h"
#include "kernel/sync/SpinLock.h"

namespace ioapic {
namespace {

// Indirect access: write the register index to IOREGSEL, then read or write
// IOWIN (82093AA datasheet §3.1).
constexpr u32 IOREGSEL = 0x00;
constexpr u32 IOWIN = 0x10;
constexpr u32 REG_VERSION = 0x01;
constexpr u32 REG_REDIRECTION_BASE = 0x10; // two 32-bit registers per input

// Redirection entry bits, 82093AA §3.2.4.
constexpr u64 RTE_POLARITY_LOW = 1ul << 13;
constexpr u64 RTE_TRIGGER_LEVEL = 1ul << 15;
constexpr u64 RTE_MASKED = 1ul << 16;
constexpr unsigned RTE_DESTINATION_SHIFT = 56;

constexpr usize MAX_IO_APICS = 8;

struct Controller {
    volatile u32* mmio;
    u32 gsi_base;
    u32 inputs;
};

Controller g_controllers[MAX_IO_APICS];
usize g_count = 0;
SpinLock g_lock{LockRank::HardwareWindow, "ioapic registers"};

u32 read(const Controller& c, u32 reg)
{
    c.mmio[IOREGSEL / 4] = reg;
    return c.mmio[IOWIN / 4];
}

void write(const Controller& c, u32 reg, u32 value)
{
    c.mmio[IOREGSEL / 4] = reg;
    c.mmio[IOWIN / 4] = value;
}

Controller* find(u32 gsi)
{
    for (usize i = 0; i < g_count; i++) {
        Controller& c = g_controllers[i];
        if (gsi >= c.gsi_base && gsi < c.gsi_base + c.inputs)
            return &c;
    }
    return nullptr;
}

void write_entry(const Controller& c, u32 input, u64 entry)
{
    // Masked low half first, so the entry is never live half-written.
    write(c, REG_REDIRECTION_BASE + 2 * input, static_cast<u32>(RTE_MASKED));
    write(c, REG_REDIRECTION_BASE + 2 * input + 1, static_cast<u32>(entry >> 32));
    write(c, REG_REDIRECTION_BASE + 2 * input, static_cast<u32>(entry));
}

void set_masked(u32 gsi, bool masked)
{
    SpinLockGuard guard(g_lock);
    Controller* c = find(gsi);
    if (!c)
        return;
    u32 reg = REG_REDIRECTION_BASE + 2 * (gsi - c->gsi_base);
    u32 low = read(*c, reg);
    write(*c, reg, masked ? (low | static_cast<u32>(RTE_MASKED)) : (low & ~static_cast<u32>(RTE_MASKED)));
}

} // namespace

void init()
{
    for (usize i = 0; i < acpi::io_apic_count() && g_count < MAX_IO_APICS; i++) {
        const acpi::IoApic& info = acpi::io_apic(i);
        // IOREGSEL and IOWIN, 82093AA §3.1; mapped uncached.
        auto* mmio = static_cast<volatile u32*>(mm::map_mmio(info.address, IOWIN + 4));
        if (!mmio) {
            log_error("apic", "cannot map IOAPIC %u at 0x%lx", info.id, info.address);
            continue;
        }
        Controller& c = g_controllers[g_count++];
        c.mmio = mmio;
        c.gsi_base = info.gsi_base;
        // Version register bits 23:16: index of the last redirection entry.
        c.inputs = ((read(c, REG_VERSION) >> 16) & 0xff) + 1;
        for (u32 input = 0; input < c.inputs; input++)
            write_entry(c, input, RTE_MASKED);
        log_info("apic", "IOAPIC %u: GSIs %u-%u, all masked", info.id, c.gsi_base, c.gsi_base + c.inputs - 1);
    }
}

Result<void> route(u32 gsi, u8 vector, u32 apic_id, bool active_low, bool level_triggered)
{
    SpinLockGuard guard(g_lock);
    Controller* c = find(gsi);
    if (!c)
        return Error::from_errno(ENODEV);
    u64 entry = vector | (static_cast<u64>(apic_id) << RTE_DESTINATION_SHIFT);
    if (active_low)
        entry |= RTE_POLARITY_LOW;
    if (level_triggered)
        entry |= RTE_TRIGGER_LEVEL;
    write_entry(*c, gsi - c->gsi_base, entry);
    return {};
}

void mask(u32 gsi) { set_masked(gsi, true); }
void unmask(u32 gsi) { set_masked(gsi, false); }

} // namespace ioapic
