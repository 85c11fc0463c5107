// Mapping device memory: uncached (PCD|PWT, i.e. PAT entry 3 = UC, SDM Vol. 3A
// §11.12.3), non-executable, global, 4 KiB pages in the MMIO window at
// MMIO_WINDOW_BASE. Device registers are not in the direct map.
#pragma once

#include "kernel/lib/Types.h"

namespace mm {

// Returns the kernel virtual address of `phys` (any alignment), or nullptr if
// the window is exhausted or memory for page tables ran out. Each call gets
// its own virtual range, followed by an unmapped guard page.
void* map_mmio(PhysAddr phys, usize size_bytes);
// Undo map_mmio / map_firmware (same address and size) for a window mapping.
// The virtual range is not reused.
void unmap_mmio(void* virt, usize size_bytes);

// Firmware tables (ACPI, SMBIOS): the direct-map address when the range is in
// the direct map (RAM, or anything below 4 GiB, where non-RAM is uncached);
// otherwise a cached, writable, non-executable window mapping. Do not unmap a
// direct-map result.
void* map_firmware(PhysAddr phys, usize size_bytes);
// True when all of [phys, phys + size) is in the direct map (phys_to_virt
// works): RAM regions and everything below 4 GiB.
bool is_direct_mapped(PhysAddr phys, usize size_bytes);

} // namespace mm
