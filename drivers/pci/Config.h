// PCI configuration space: register offsets and bits (PCI Local Bus 3.0
// §6.1-6.2, PCI Express Base 4.0 §7.5.1), and access to it through ECAM
// (the MCFG regions, PCIe §7.2.2) or, without ACPI, the legacy 0xcf8/0xcfc
// ports (first 256 bytes only).
#pragma once

#include "kernel/lib/Types.h"

namespace pci {

namespace config {
constexpr u16 VENDOR_ID = 0x00;
constexpr u16 DEVICE_ID = 0x02;
constexpr u16 COMMAND = 0x04;
constexpr u16 STATUS = 0x06;
constexpr u16 REVISION = 0x08;
constexpr u16 PROG_IF = 0x09;
constexpr u16 SUBCLASS = 0x0a;
constexpr u16 CLASS = 0x0b;
constexpr u16 HEADER_TYPE = 0x0e;
constexpr u16 BAR0 = 0x10;
constexpr u16 SECONDARY_BUS = 0x19; // type 1 (bridge) header
constexpr u16 CAPABILITIES = 0x34;
constexpr u16 INTERRUPT_LINE = 0x3c;
constexpr u16 INTERRUPT_PIN = 0x3d;
} // namespace config

namespace command {
constexpr u16 IO_SPACE = 1u << 0;
constexpr u16 MEMORY_SPACE = 1u << 1;
constexpr u16 BUS_MASTER = 1u << 2;
constexpr u16 INTX_DISABLE = 1u << 10;
} // namespace command

constexpr u16 STATUS_CAPABILITIES_LIST = 1u << 4;
constexpr u8 HEADER_TYPE_MASK = 0x7f;
constexpr u8 HEADER_MULTI_FUNCTION = 0x80;
constexpr u8 HEADER_BRIDGE = 0x01;

// BAR bits (PCI 3.0 §6.2.5.1).
constexpr u32 BAR_IO = 1u << 0;
constexpr u32 BAR_TYPE_MASK = 3u << 1;
constexpr u32 BAR_TYPE_64 = 2u << 1;
constexpr u32 BAR_PREFETCHABLE = 1u << 3;

// Capability ids (PCI Code and ID Assignment §2).
namespace cap {
constexpr u8 MSI = 0x05;
constexpr u8 VENDOR = 0x09;
constexpr u8 PCIE = 0x10;
constexpr u8 MSIX = 0x11;
} // namespace cap

struct Address {
    u16 segment;
    u8 bus;
    u8 device;
    u8 function;
};

// Set up config access: ECAM from the ACPI MCFG regions if any.
void init_config_access();
bool using_ecam();

u8 read8(Address address, u16 offset);
u16 read16(Address address, u16 offset);
u32 read32(Address address, u16 offset);
void write16(Address address, u16 offset, u16 value);
void write32(Address address, u16 offset, u32 value);

} // namespace pci
