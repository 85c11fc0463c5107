// Shared between the files of drivers/acpi.
#pragma once

#include "drivers/acpi/Tables.h"
#include "kernel/mm/DirectMap.h"

namespace acpi {

// Firmware tables sit in the first 4 GiB on every machine we run on, which
// the boot page tables map; a table above that would need mm::map_mmio.
template <typename T>
T* map_physical(PhysAddr phys, usize length)
{
    if (phys + length > 4 * GiB)
        return nullptr;
    return phys_to_virt<T>(phys);
}

// FADT: power-off and reset registers, \_S5 from the DSDT (Power.cpp).
void init_power(const Fadt* fadt);

} // namespace acpi
