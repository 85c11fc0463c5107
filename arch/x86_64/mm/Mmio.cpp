#include "arch/x86_64/mm/Mmio.h"

#include "arch/x86_64/boot/Layout.h"
#include "arch/x86_64/mm/Paging.h"
#include "kernel/debug/Panic.h"
#include "kernel/mm/DirectMap.h"
#include "kernel/sync/SpinLock.h"

namespace mm {
namespace {

constexpr uptr MMIO_WINDOW_SIZE = 512 * GiB; // one PML4 entry

SpinLock g_window_lock{LockRank::Registry, "mmio window"};
uptr g_window_next = MMIO_WINDOW_BASE; // guarded by g_window_lock

} // namespace

namespace {

void* map_in_window(PhysAddr phys, usize size_bytes, u32 flags)
{
    if (size_bytes == 0)
        return nullptr;
    PhysAddr base = align_down(phys, PhysAddr(PAGE_SIZE));
    usize length = align_up(phys + size_bytes, PhysAddr(PAGE_SIZE)) - base;
    uptr virt;
    {
        SpinLockGuard guard(g_window_lock);
        if (g_window_next + length + PAGE_SIZE > MMIO_WINDOW_BASE + MMIO_WINDOW_SIZE)
            return nullptr;
        virt = g_window_next;
        g_window_next += length + PAGE_SIZE; // guard page
    }
    if (kernel_page_table().map(virt, base, length, flags | MAP_GLOBAL).is_error())
        return nullptr;
    return reinterpret_cast<void*>(virt + (phys - base));
}

} // namespace

void* map_mmio(PhysAddr phys, usize size_bytes) { return map_in_window(phys, size_bytes, MAP_WRITE | MAP_UNCACHED); }

void* map_firmware(PhysAddr phys, usize size_bytes)
{
    // RAM regions are in the direct map already: no second mapping with
    // another memory type (SDM Vol. 3A §11.12.4 warns against such aliases).
    if (is_direct_mapped(phys, size_bytes))
        return phys_to_virt(phys);
    return map_in_window(phys, size_bytes, MAP_WRITE);
}

void unmap_mmio(void* virt, usize size_bytes)
{
    uptr address = reinterpret_cast<uptr>(virt);
    uptr base = align_down(address, uptr(PAGE_SIZE));
    usize length = align_up(address + size_bytes, uptr(PAGE_SIZE)) - base;
    ASSERT(base >= MMIO_WINDOW_BASE && base + length <= MMIO_WINDOW_BASE + MMIO_WINDOW_SIZE);
    if (kernel_page_table().unmap(base, length).is_error())
        panic("mm: unmap_mmio(%p, %zu) failed", virt, size_bytes);
}

} // namespace mm
