// The kernel's virtual address layout, shared by the assembly entry and C++.
//
//   0x0000000000000000 .. 0x00007fffffffffff  user space (later)
//   0xffff800000000000 ..                     direct map of all physical memory
//   0xffffc00000000000 ..                     MMIO window (uncached device mappings)
//   0xffffc08000000000 ..                     kernel stacks, each above an unmapped guard page
//   0xffffffff80000000 ..                     kernel image (-mcmodel=kernel)
#pragma once

#define KERNEL_VMA 0xffffffff80000000
#define DIRECT_MAP_BASE 0xffff800000000000
#define MMIO_WINDOW_BASE 0xffffc00000000000
#define KERNEL_STACKS_BASE 0xffffc08000000000
#define PML4_INDEX_DIRECT_MAP 256
#define KERNEL_PHYS_LOAD 0x100000
#define BOOT_STACK_SIZE 16384
