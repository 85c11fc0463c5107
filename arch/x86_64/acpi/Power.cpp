// ACPI soft-off (S5) and reset through the FADT's registers.
//
// Entering S5 needs SLP_TYPa/SLP_TYPb from the \_S5 package in the DSDT (ACPI
// 6.5 §7.4.2 "\_Sx (System States)"); without an AML interpreter we find the
// package by its name and decode its first two integers, which is what every
// firmware we boot on encodes plainly. The _PTS method is not run.
#include "arch/x86_64/Cpu.h"
#include "arch/x86_64/acpi/Acpi.h"
#include "arch/x86_64/acpi/AcpiInternal.h"
#include "kernel/lib/String.h"
#include "kernel/log/Log.h"
#include "kernel/power/Power.h"

namespace acpi {
namespace {

// AML encodings, ACPI 6.5 §20.2.
constexpr u8 AML_ZERO_OP = 0x00;
constexpr u8 AML_ONE_OP = 0x01;
constexpr u8 AML_NAME_OP = 0x08;
constexpr u8 AML_BYTE_PREFIX = 0x0a;
constexpr u8 AML_WORD_PREFIX = 0x0b;
constexpr u8 AML_DWORD_PREFIX = 0x0c;
constexpr u8 AML_PACKAGE_OP = 0x12;
constexpr u8 AML_ROOT_CHAR = '\\';
constexpr u8 AML_ONES_OP = 0xff;

struct Register {
    u8 space = ADDRESS_SPACE_IO;
    u64 address = 0;
    volatile u16* mmio = nullptr; // mapped once at boot for memory-space registers
    bool present() const { return address != 0 && (space == ADDRESS_SPACE_IO || mmio); }
};

Register g_pm1a_control;
Register g_pm1b_control;
u16 g_smi_command = 0;
u8 g_acpi_enable_value = 0;
u16 g_sci_interrupt = 0;
bool g_have_s5 = false;
u8 g_slp_typ_a = 0;
u8 g_slp_typ_b = 0;
bool g_have_reset = false;
GenericAddress g_reset_register{};
volatile u8* g_reset_mmio = nullptr;
u8 g_reset_value = 0;

u16 read16(const Register& reg)
{
    if (reg.space == ADDRESS_SPACE_IO)
        return x86::inw(static_cast<u16>(reg.address));
    return *reg.mmio;
}

void write16(const Register& reg, u16 value)
{
    if (reg.space == ADDRESS_SPACE_IO)
        x86::outw(static_cast<u16>(reg.address), value);
    else
        *reg.mmio = value;
}

// An AML integer constant (ZeroOp, OneOp, OnesOp, Byte/Word/DWordPrefix).
// Returns the number of bytes consumed, 0 if it is not one.
usize decode_integer(const u8* p, const u8* end, u64& value)
{
    if (p >= end)
        return 0;
    switch (p[0]) {
    case AML_ZERO_OP:
        value = 0;
        return 1;
    case AML_ONE_OP:
        value = 1;
        return 1;
    case AML_ONES_OP:
        value = ~0ul;
        return 1;
    case AML_BYTE_PREFIX:
        if (p + 2 > end)
            return 0;
        value = p[1];
        return 2;
    case AML_WORD_PREFIX:
        if (p + 3 > end)
            return 0;
        value = p[1] | (p[2] << 8);
        return 3;
    case AML_DWORD_PREFIX:
        if (p + 5 > end)
            return 0;
        value = p[1] | (p[2] << 8) | (p[3] << 16) | (static_cast<u64>(p[4]) << 24);
        return 5;
    default:
        return 0;
    }
}

// Look for Name(\_S5_, Package() { a, b, ... }) in one AML table.
bool find_s5(const SdtHeader* table)
{
    auto* aml = reinterpret_cast<const u8*>(table) + sizeof(SdtHeader);
    auto* end = reinterpret_cast<const u8*>(table) + table->length;
    for (const u8* p = aml + 1; p + 4 < end; p++) {
        if (memcmp(p, "_S5_", 4) != 0)
            continue;
        // A definition, not a reference: NameOp, optionally with a root prefix.
        bool is_name = p[-1] == AML_NAME_OP || (p[-1] == AML_ROOT_CHAR && p - 2 >= aml && p[-2] == AML_NAME_OP);
        const u8* q = p + 4;
        if (!is_name || q >= end || *q != AML_PACKAGE_OP)
            continue;
        q++;
        // PkgLength (§20.2.4): bits 7-6 of the lead byte count the extra bytes.
        if (q >= end)
            return false;
        q += 1 + (*q >> 6);
        q++; // NumElements
        u64 a = 0, b = 0;
        usize used = decode_integer(q, end, a);
        if (!used)
            return false;
        q += used;
        decode_integer(q, end, b); // SLP_TYPb may be missing: 0
        g_slp_typ_a = static_cast<u8>(a & 7);
        g_slp_typ_b = static_cast<u8>(b & 7);
        return true;
    }
    return false;
}

Register control_register(const Fadt* fadt, u32 legacy_port, const GenericAddress& extended,
                          usize extended_offset)
{
    Register reg;
    if (fadt->header.length >= extended_offset + sizeof(GenericAddress) && extended.address &&
        (extended.address_space == ADDRESS_SPACE_IO || extended.address_space == ADDRESS_SPACE_MEMORY)) {
        reg.space = extended.address_space;
        reg.address = extended.address;
    } else {
        reg.address = legacy_port;
    }
    if (reg.space == ADDRESS_SPACE_MEMORY && reg.address)
        reg.mmio = static_cast<volatile u16*>(mm::map_mmio(reg.address, sizeof(u16)));
    return reg;
}

// §16.3.1 (legacy mode): SCI_EN is set by the firmware when we write
// ACPI_ENABLE to SMI_CMD; hardware without SMI_CMD is always in ACPI mode.
void enable_acpi_mode()
{
    if (!g_smi_command || !g_acpi_enable_value || (read16(g_pm1a_control) & PM1_SCI_EN))
        return;
    x86::outb(g_smi_command, g_acpi_enable_value);
    for (u32 i = 0; i < 1000000 && !(read16(g_pm1a_control) & PM1_SCI_EN); i++)
        x86::pause();
}

void power_off_hook() { enter_s5(); }

} // namespace

void init_power(const Fadt* fadt)
{
    g_sci_interrupt = fadt->sci_interrupt;
    g_smi_command = static_cast<u16>(fadt->smi_command);
    g_acpi_enable_value = fadt->acpi_enable;
    g_pm1a_control = control_register(fadt, fadt->pm1a_control_block, fadt->x_pm1a_control_block,
                                      __builtin_offsetof(Fadt, x_pm1a_control_block));
    g_pm1b_control = control_register(fadt, fadt->pm1b_control_block, fadt->x_pm1b_control_block,
                                      __builtin_offsetof(Fadt, x_pm1b_control_block));
    if (fadt->header.length >= __builtin_offsetof(Fadt, reset_value) + 1 && (fadt->flags & FADT_RESET_REG_SUP)) {
        g_have_reset = true;
        g_reset_register = fadt->reset_register;
        g_reset_value = fadt->reset_value;
        if (g_reset_register.address_space == ADDRESS_SPACE_MEMORY)
            g_reset_mmio = static_cast<volatile u8*>(mm::map_mmio(g_reset_register.address, 1));
    }

    PhysAddr dsdt_phys = fadt->dsdt;
    if (fadt->header.length >= __builtin_offsetof(Fadt, x_dsdt) + 8 && fadt->x_dsdt)
        dsdt_phys = fadt->x_dsdt;
    const SdtHeader* dsdt = nullptr;
    if (auto* header = map_physical<const SdtHeader>(dsdt_phys, sizeof(SdtHeader)))
        dsdt = map_physical<const SdtHeader>(dsdt_phys, header->length);
    g_have_s5 = dsdt && find_s5(dsdt);
    for (usize i = 0; !g_have_s5; i++) {
        const SdtHeader* ssdt = find_table("SSDT", i);
        if (!ssdt)
            break;
        g_have_s5 = find_s5(ssdt);
    }

    log_raw("acpi: FADT: SCI IRQ %u, PM1a_CNT %s 0x%lx", g_sci_interrupt,
            g_pm1a_control.space == ADDRESS_SPACE_IO ? "port" : "mmio", g_pm1a_control.address);
    if (g_pm1b_control.present())
        log_raw(", PM1b_CNT 0x%lx", g_pm1b_control.address);
    if (g_have_reset)
        log_raw(", reset %s 0x%lx <- 0x%x",
                g_reset_register.address_space == ADDRESS_SPACE_IO ? "port" : "space", g_reset_register.address,
                g_reset_value);
    if (g_have_s5)
        log_raw(", \\_S5 SLP_TYPa=%u SLP_TYPb=%u\n", g_slp_typ_a, g_slp_typ_b);
    else
        log_raw(", no \\_S5 package found\n");

    if (g_have_s5 && g_pm1a_control.present())
        power_ops().acpi_power_off = power_off_hook;
}

u16 sci_interrupt() { return g_sci_interrupt; }

void enter_s5()
{
    if (!g_have_s5 || !g_pm1a_control.present())
        return;
    enable_acpi_mode();
    // §4.8.3.2.1 / §16.1.7: write SLP_TYP, then SLP_TYP with SLP_EN, to
    // PM1a and (if present) PM1b; keep the other control bits.
    constexpr u16 SLP_FIELDS = (7 << PM1_SLP_TYP_SHIFT) | PM1_SLP_EN;
    u16 a = (read16(g_pm1a_control) & ~SLP_FIELDS) | static_cast<u16>(g_slp_typ_a << PM1_SLP_TYP_SHIFT);
    u16 b = 0;
    if (g_pm1b_control.present())
        b = (read16(g_pm1b_control) & ~SLP_FIELDS) | static_cast<u16>(g_slp_typ_b << PM1_SLP_TYP_SHIFT);
    write16(g_pm1a_control, a);
    if (g_pm1b_control.present())
        write16(g_pm1b_control, b);
    write16(g_pm1a_control, a | PM1_SLP_EN);
    if (g_pm1b_control.present())
        write16(g_pm1b_control, b | PM1_SLP_EN);
    // The machine should be off now; give it a moment before reporting failure.
    for (u32 i = 0; i < 10000000; i++)
        x86::pause();
}

void reset()
{
    if (g_have_reset) {
        // §4.8.3.6: the reset register is 8 bits wide, in I/O, memory or PCI config space.
        if (g_reset_register.address_space == ADDRESS_SPACE_IO) {
            x86::outb(static_cast<u16>(g_reset_register.address), g_reset_value);
        } else if (g_reset_register.address_space == ADDRESS_SPACE_MEMORY) {
            if (g_reset_mmio)
                *g_reset_mmio = g_reset_value;
        }
        for (u32 i = 0; i < 10000000; i++)
            x86::pause();
    }
}

} // namespace acpi
