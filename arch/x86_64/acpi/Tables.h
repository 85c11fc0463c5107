// ACPI table layouts used by arch/x86_64/acpi (ACPI Specification 6.5 numbering;
// MCFG from the PCI Firmware Specification 3.0). All little-endian, packed.
#pragma once

#include "kernel/lib/Types.h"

namespace acpi {

// §5.2.5.3 Root System Description Pointer.
struct [[gnu::packed]] Rsdp {
    char signature[8]; // "RSD PTR "
    u8 checksum;       // of the first 20 bytes
    char oem_id[6];
    u8 revision; // 0: ACPI 1.0 (RSDT only), 2: XSDT
    u32 rsdt_address;
    // Revision 2 and later:
    u32 length;
    u64 xsdt_address;
    u8 extended_checksum; // of the whole structure
    u8 reserved[3];
};
static_assert(sizeof(Rsdp) == 36);
constexpr usize RSDP_V1_LENGTH = 20;

// §5.2.6 System Description Table Header.
struct [[gnu::packed]] SdtHeader {
    char signature[4];
    u32 length; // including this header
    u8 revision;
    u8 checksum;
    char oem_id[6];
    char oem_table_id[8];
    u32 oem_revision;
    u32 creator_id;
    u32 creator_revision;
};
static_assert(sizeof(SdtHeader) == 36);

// §5.2.3.2 Generic Address Structure.
struct [[gnu::packed]] GenericAddress {
    u8 address_space; // ADDRESS_SPACE_*
    u8 bit_width;
    u8 bit_offset;
    u8 access_size;
    u64 address;
};
static_assert(sizeof(GenericAddress) == 12);
constexpr u8 ADDRESS_SPACE_MEMORY = 0;
constexpr u8 ADDRESS_SPACE_IO = 1;
constexpr u8 ADDRESS_SPACE_PCI_CONFIG = 2;

// §5.2.12 Multiple APIC Description Table: header, then variable entries.
struct [[gnu::packed]] Madt {
    SdtHeader header;
    u32 local_apic_address;
    u32 flags; // bit 0 PCAT_COMPAT: 8259 PICs present
};
static_assert(sizeof(Madt) == 44);

struct [[gnu::packed]] MadtEntry {
    u8 type;
    u8 length;
};

// MADT entry types, §5.2.12 Table 5.21.
constexpr u8 MADT_LOCAL_APIC = 0;
constexpr u8 MADT_IO_APIC = 1;
constexpr u8 MADT_INTERRUPT_OVERRIDE = 2;
constexpr u8 MADT_LOCAL_APIC_NMI = 4;
constexpr u8 MADT_LOCAL_APIC_ADDRESS_OVERRIDE = 5;
constexpr u8 MADT_LOCAL_X2APIC = 9;

// §5.2.12.2
struct [[gnu::packed]] MadtLocalApic {
    MadtEntry entry;
    u8 processor_uid;
    u8 apic_id;
    u32 flags;
};
static_assert(sizeof(MadtLocalApic) == 8);
// Local APIC flags, §5.2.12.2 Table 5.23.
constexpr u32 LAPIC_ENABLED = 1 << 0;
constexpr u32 LAPIC_ONLINE_CAPABLE = 1 << 1;

// §5.2.12.3
struct [[gnu::packed]] MadtIoApic {
    MadtEntry entry;
    u8 io_apic_id;
    u8 reserved;
    u32 address;
    u32 gsi_base;
};
static_assert(sizeof(MadtIoApic) == 12);

// §5.2.12.5
struct [[gnu::packed]] MadtInterruptOverride {
    MadtEntry entry;
    u8 bus; // 0 = ISA
    u8 source;
    u32 gsi;
    u16 flags; // MPS INTI flags
};
static_assert(sizeof(MadtInterruptOverride) == 10);
// MPS INTI flags, §5.2.12.5 Table 5.26.
constexpr u16 INTI_POLARITY_MASK = 0x3;
constexpr u16 INTI_POLARITY_ACTIVE_LOW = 0x3;
constexpr u16 INTI_TRIGGER_MASK = 0xc;
constexpr u16 INTI_TRIGGER_LEVEL = 0xc;

// §5.2.12.8
struct [[gnu::packed]] MadtLocalApicAddressOverride {
    MadtEntry entry;
    u16 reserved;
    u64 address;
};
static_assert(sizeof(MadtLocalApicAddressOverride) == 12);

// §5.2.12.12
struct [[gnu::packed]] MadtLocalX2Apic {
    MadtEntry entry;
    u16 reserved;
    u32 x2apic_id;
    u32 flags;
    u32 processor_uid;
};
static_assert(sizeof(MadtLocalX2Apic) == 16);

// PCI Firmware Specification 3.0 §4.1.2: MCFG, header + 8 reserved bytes,
// then one allocation per ECAM region.
struct [[gnu::packed]] McfgAllocation {
    u64 base;
    u16 segment;
    u8 start_bus;
    u8 end_bus;
    u32 reserved;
};
static_assert(sizeof(McfgAllocation) == 16);
constexpr usize MCFG_ALLOCATIONS_OFFSET = sizeof(SdtHeader) + 8;

// §5.2.9 Fixed ACPI Description Table (the fields we use; a table may be
// shorter than this in older revisions, so check header.length).
struct [[gnu::packed]] Fadt {
    SdtHeader header;
    u32 firmware_ctrl;
    u32 dsdt;
    u8 reserved0;
    u8 preferred_pm_profile;
    u16 sci_interrupt;
    u32 smi_command;
    u8 acpi_enable;
    u8 acpi_disable;
    u8 s4bios_request;
    u8 pstate_control;
    u32 pm1a_event_block;
    u32 pm1b_event_block;
    u32 pm1a_control_block;
    u32 pm1b_control_block;
    u32 pm2_control_block;
    u32 pm_timer_block;
    u32 gpe0_block;
    u32 gpe1_block;
    u8 pm1_event_length;
    u8 pm1_control_length;
    u8 pm2_control_length;
    u8 pm_timer_length;
    u8 gpe0_block_length;
    u8 gpe1_block_length;
    u8 gpe1_base;
    u8 cstate_control;
    u16 worst_c2_latency;
    u16 worst_c3_latency;
    u16 flush_size;
    u16 flush_stride;
    u8 duty_offset;
    u8 duty_width;
    u8 day_alarm;
    u8 month_alarm;
    u8 century;
    u16 iapc_boot_arch;
    u8 reserved1;
    u32 flags;
    GenericAddress reset_register;
    u8 reset_value;
    u16 arm_boot_arch;
    u8 minor_version;
    u64 x_firmware_ctrl;
    u64 x_dsdt;
    GenericAddress x_pm1a_event_block;
    GenericAddress x_pm1b_event_block;
    GenericAddress x_pm1a_control_block;
    GenericAddress x_pm1b_control_block;
};
static_assert(__builtin_offsetof(Fadt, dsdt) == 40);
static_assert(__builtin_offsetof(Fadt, smi_command) == 48);
static_assert(__builtin_offsetof(Fadt, pm1a_control_block) == 64);
static_assert(__builtin_offsetof(Fadt, flags) == 112);
static_assert(__builtin_offsetof(Fadt, reset_register) == 116);
static_assert(__builtin_offsetof(Fadt, reset_value) == 128);
static_assert(__builtin_offsetof(Fadt, x_dsdt) == 140);
static_assert(__builtin_offsetof(Fadt, x_pm1a_control_block) == 172);
static_assert(sizeof(Fadt) == 196);
// FADT fixed feature flags, §5.2.9.3 Table 5.10.
constexpr u32 FADT_RESET_REG_SUP = 1 << 10;

// PM1 control register bits, §4.8.3.2.1 Table 4.13.
constexpr u16 PM1_SCI_EN = 1 << 0;
constexpr u16 PM1_SLP_TYP_SHIFT = 10;
constexpr u16 PM1_SLP_EN = 1 << 13;

} // namespace acpi
