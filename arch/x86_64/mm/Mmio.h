// Mapping device memory: uncached (PCD|PWT), non-executable, in the MMIO window.
#pragma once

#include "kernel/lib/Types.h"

namespace mm {

// Returns the kernel virtual address of `phys` (any alignment), or nullptr if
// the window is exhausted.
void* map_mmio(PhysAddr phys, usize size_bytes);

} // namespace mm
