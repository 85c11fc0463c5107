// Shared between the files of arch/x86_64/acpi.
#pragma once

#include "arch/x86_64/acpi/Tables.h"
#include "arch/x86_64/mm/Mmio.h"

namespace acpi {

// Firmware tables and registers: the direct map where it covers them, else a
// window mapping (kept for the kernel's lifetime). Null if unmappable.
template <typename T>
T* map_physical(PhysAddr phys, usize length)
{
    return static_cast<T*>(mm::map_firmware(phys, length));
}

// FADT: power-off and reset registers, \_S5 from the DSDT (Power.cpp).
void init_power(const Fadt* fadt);

} // namespace acpi
