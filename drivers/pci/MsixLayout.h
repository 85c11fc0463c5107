// Where the MSI-X table and pending-bit array lie (PCI 3.0 §6.8.2.4-5): a
// BAR index (BIR, low 3 bits) and an offset in that BAR, both read from the
// device. Checked against the BAR before anything is written through them: a
// device (or a hostile hypervisor) cannot aim the kernel's MSI-X writes
// outside the BAR it mapped.
#pragma once

#include "kernel/lib/Types.h"

namespace pci {

constexpr u32 MSIX_ENTRY_BYTES = 16;
constexpr u32 MSIX_BIR_MASK = 7;
constexpr u32 BAR_COUNT = 6;

constexpr u32 msix_bir(u32 table_or_pba_register) { return table_or_pba_register & MSIX_BIR_MASK; }
constexpr u64 msix_offset(u32 table_or_pba_register) { return table_or_pba_register & ~MSIX_BIR_MASK; }
constexpr u64 msix_table_bytes(u32 entries) { return u64(entries) * MSIX_ENTRY_BYTES; }
// One pending bit per entry, in whole QWORDs (§6.8.2.5).
constexpr u64 msix_pba_bytes(u32 entries) { return (u64(entries) + 63) / 64 * 8; }

// Does [offset, offset + bytes) lie within a BAR of `bar_bytes`?
constexpr bool region_in_bar(u64 offset, u64 bytes, u64 bar_bytes)
{
    return offset <= bar_bytes && bytes <= bar_bytes - offset;
}

// The table (or PBA) register `reg`, for `entries` vectors, against the
// sizes of the device's BARs (0 for an absent or I/O BAR).
constexpr bool msix_structure_fits(u32 reg, u64 structure_bytes, const u64 (&bar_bytes)[BAR_COUNT])
{
    const u32 bir = msix_bir(reg);
    return bir < BAR_COUNT && bar_bytes[bir] != 0 && region_in_bar(msix_offset(reg), structure_bytes, bar_bytes[bir]);
}

} // namespace pci
