#include "arch/x86_64/mm/KernelStack.h"

#include "arch/x86_64/mm/Paging.h"
#include "arch/x86_64/mm/PageTable.h"
#include "kernel/debug/Panic.h"
#include "kernel/lib/Atomic.h"
#include "kernel/mm/PageAllocator.h"

namespace mm {
namespace {

// The physical base of each mapped slot (0: not mapped). A slot belongs to
// one owner at a time (a thread table slot, or an AP), so no lock.
Atomic<PhysAddr> g_slot_phys[KERNEL_STACK_SLOTS];

} // namespace

u8* map_kernel_stack(usize slot)
{
    if (slot >= KERNEL_STACK_SLOTS)
        return nullptr;
    ASSERT(g_slot_phys[slot].load(MemoryOrder::Relaxed) == 0);
    Page* pages = alloc_pages(KERNEL_STACK_ORDER);
    if (!pages)
        return nullptr;
    const PhysAddr phys = page_to_phys(pages);
    const uptr bottom = kernel_stack_bottom(slot);
    if (kernel_page_table().map(bottom, phys, KERNEL_STACK_BYTES, MAP_WRITE | MAP_GLOBAL).is_error()) {
        free_pages(pages, KERNEL_STACK_ORDER);
        return nullptr;
    }
    g_slot_phys[slot].store(phys, MemoryOrder::Release);
    return reinterpret_cast<u8*>(bottom);
}

void unmap_kernel_stack(usize slot)
{
    ASSERT(slot < KERNEL_STACK_SLOTS);
    const PhysAddr phys = g_slot_phys[slot].load(MemoryOrder::Acquire);
    ASSERT(phys != 0);
    if (kernel_page_table().unmap(kernel_stack_bottom(slot), KERNEL_STACK_BYTES).is_error())
        panic("mm: unmapping kernel stack slot %zu failed", slot);
    g_slot_phys[slot].store(0, MemoryOrder::Relaxed);
    free_pages(phys_to_page(phys), KERNEL_STACK_ORDER);
}

bool kernel_stack_guard_slot(uptr address, usize* slot)
{
    if (!in_kernel_stack_area(address))
        return false;
    const usize index = (address - KERNEL_STACKS_BASE) / KERNEL_STACK_SLOT_BYTES;
    const uptr offset = (address - KERNEL_STACKS_BASE) % KERNEL_STACK_SLOT_BYTES;
    if (offset >= PAGE_SIZE)
        return false;
    *slot = index;
    return true;
}

PhysAddr kernel_stack_virt_to_phys(uptr address)
{
    const usize slot = (address - KERNEL_STACKS_BASE) / KERNEL_STACK_SLOT_BYTES;
    const uptr offset = address - kernel_stack_bottom(slot);
    const PhysAddr phys = g_slot_phys[slot].load(MemoryOrder::Acquire);
    if (!phys || offset >= KERNEL_STACK_BYTES)
        panic("mm: %p is not on a mapped kernel stack", reinterpret_cast<void*>(address));
    return phys + offset;
}

} // namespace mm
