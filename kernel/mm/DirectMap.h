// Translation between physical addresses and their kernel virtual addresses.
//
// All RAM is mapped at DIRECT_MAP_BASE + phys (boot code maps the first 1 GiB,
// the memory manager the rest); the kernel image is also mapped at KERNEL_VMA.
#pragma once

#include "arch/x86_64/boot/Layout.h"
#include "arch/x86_64/mm/KernelStack.h"
#include "kernel/lib/Types.h"

template <typename T = void>
inline T* phys_to_virt(PhysAddr phys)
{
    return reinterpret_cast<T*>(phys + DIRECT_MAP_BASE);
}

// Works for direct-map, kernel-image and kernel-stack addresses alike.
inline PhysAddr virt_to_phys(const void* virt)
{
    uptr address = reinterpret_cast<uptr>(virt);
    if (address >= KERNEL_VMA)
        return address - KERNEL_VMA;
    if (mm::in_kernel_stack_area(address))
        return mm::kernel_stack_virt_to_phys(address);
    return address - DIRECT_MAP_BASE;
}
