// Kernel stacks (threads and each AP's boot stack) in their own virtual area,
// not the direct map: slot i holds an unmapped guard page and then the stack,
//   KERNEL_STACKS_BASE + i * KERNEL_STACK_SLOT_BYTES: [guard][16 KiB stack]
// so running off the bottom of a stack faults on the guard page. The page
// fault cannot push its frame there either, which makes it a double fault,
// taken on its own IST stack (arch/x86_64/Tss), where the exception report
// names it a kernel stack overflow.
#pragma once

#include "arch/x86_64/PerCpu.h"
#include "arch/x86_64/boot/Layout.h"
#include "kernel/lib/Types.h"

namespace mm {

constexpr unsigned KERNEL_STACK_ORDER = 2;
constexpr usize KERNEL_STACK_BYTES = PAGE_SIZE << KERNEL_STACK_ORDER; // 16 KiB
constexpr usize KERNEL_STACK_SLOT_BYTES = KERNEL_STACK_BYTES + PAGE_SIZE;
constexpr usize KERNEL_STACK_SLOTS = 1024; // thread table slots from 0, one per AP at the end
constexpr usize ap_kernel_stack_slot(u32 cpu) { return KERNEL_STACK_SLOTS - MAX_CPUS + cpu; }
constexpr uptr KERNEL_STACKS_END = KERNEL_STACKS_BASE + KERNEL_STACK_SLOTS * KERNEL_STACK_SLOT_BYTES;

// Allocates and maps slot `slot`'s stack; its lowest byte, or nullptr
// (no memory, or a bad slot). The slot must not be mapped.
u8* map_kernel_stack(usize slot);
// Unmaps the stack (TLB shootdown on every CPU) and frees its pages. Not
// on the stack being unmapped.
void unmap_kernel_stack(usize slot);

inline bool in_kernel_stack_area(uptr address) { return address >= KERNEL_STACKS_BASE && address < KERNEL_STACKS_END; }
// Whether `address` lies in a slot's guard page; the slot if so.
bool kernel_stack_guard_slot(uptr address, usize* slot);
// The stack's lowest address of a slot.
inline uptr kernel_stack_bottom(usize slot) { return KERNEL_STACKS_BASE + slot * KERNEL_STACK_SLOT_BYTES + PAGE_SIZE; }
// Physical address behind a mapped stack address (for DMA from a stack
// buffer: a stack's pages are physically contiguous).
PhysAddr kernel_stack_virt_to_phys(uptr address);

} // namespace mm
