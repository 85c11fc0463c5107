// Where the AP trampoline lives, shared by Trampoline.S and Smp.cpp.
// The page allocator never hands out the first 1 MiB, and the memory manager
// keeps it identity-mapped until SMP bring-up is done.
#pragma once

// STARTUP IPI vector = page number, so the address must be page-aligned and
// below 1 MiB (SDM Vol. 3A §11.6.1).
#define SMP_TRAMPOLINE_PHYS 0x8000
// The page after the code: a copy of the kernel PML4 that CR3 can hold
// while the AP is still in 32-bit mode (below 4 GiB).
#define SMP_TRAMPOLINE_PML4_PHYS 0x9000
