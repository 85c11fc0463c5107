#include "arch/x86_64/mm/PageTable.h"

#include "arch/x86_64/Cpu.h"
#include "arch/x86_64/PerCpu.h"
#include "arch/x86_64/mm/Paging.h"
#include "kernel/debug/Panic.h"
#include "kernel/irq/Ipi.h"
#include "kernel/lib/Atomic.h"
#include "kernel/mm/DirectMap.h"
#include "kernel/mm/PageAllocator.h"

namespace mm {
namespace {

constexpr int LEVELS = 4; // PML4 (3), PDPT (2), PD (1), PT (0)
constexpr usize ENTRIES = 512;
constexpr u64 CR4_PGE = 1ul << 7; // SDM Vol. 3A §2.5

// Bytes one entry at `level` covers: 4 KiB, 2 MiB, 1 GiB, 512 GiB.
constexpr u64 coverage(int level) { return u64(PAGE_SIZE) << (9 * level); }
constexpr usize index_of(uptr virt, int level) { return (virt >> (PAGE_SHIFT + 9 * level)) & (ENTRIES - 1); }
// Physical address bits of a leaf at `level` (a large page's bit 12 is PAT, not address).
constexpr u64 leaf_address_mask(int level) { return pte::ADDRESS_MASK & ~(coverage(level) - 1); }

// SDM Vol. 3A §4.5: with 4-level paging an address is canonical when bits
// 63:48 copy bit 47. index_of() ignores those bits, so an unchecked
// non-canonical address would alias a canonical one.
constexpr bool is_canonical(uptr virt) { return static_cast<uptr>(static_cast<i64>(virt << 16) >> 16) == virt; }

bool is_large_leaf(u64 entry, int level) { return level > 0 && (entry & pte::PRESENT) && (entry & pte::HUGE); }

u64* table_at(PhysAddr phys) { return phys_to_virt<u64>(phys); }

// Flags of an intermediate entry: permissive, so the leaf alone decides
// (access rights are the AND of all levels, SDM Vol. 3A §4.6.1).
u64 table_entry_bits(uptr virt)
{
    bool user_half = virt < (uptr(1) << 47);
    return pte::PRESENT | pte::WRITABLE | (user_half ? pte::USER : 0);
}

// Carry a leaf's attributes to the smaller pages it is split into: the PAT
// bit moves between bit 12 (large) and bit 7 (4 KiB), PS only stays for 2 MiB.
u64 split_attributes(u64 large_entry, int child_level)
{
    u64 attributes = large_entry & ~pte::ADDRESS_MASK & ~pte::HUGE;
    bool pat = large_entry & pte::PAT_LARGE;
    if (child_level == 0)
        return attributes | (pat ? pte::HUGE : 0);
    return attributes | pte::HUGE | (pat ? pte::PAT_LARGE : 0);
}

// Replace the large leaf *entry (at `level`) with a table of 512 smaller
// leaves with the same translation. False if no page for the table.
bool split_large_page(u64* entry, int level, uptr virt)
{
    PhysAddr table_phys = allocate_page_table_page();
    if (!table_phys)
        return false;
    u64* table = table_at(table_phys);
    PhysAddr base = *entry & leaf_address_mask(level);
    u64 attributes = split_attributes(*entry, level - 1);
    for (usize i = 0; i < ENTRIES; i++)
        table[i] = (base + i * coverage(level - 1)) | attributes;
    // SDM Vol. 3A §4.10.4.2: invalidate after changing the page size of a translation.
    AtomicRef(*entry).store(table_phys | table_entry_bits(virt), MemoryOrder::Release);
    flush_tlb_local(align_down(virt, uptr(coverage(level))));
    return true;
}

} // namespace

u64 PageTable::entry_bits(u32 flags)
{
    u64 bits = pte::PRESENT;
    if (flags & MAP_WRITE)
        bits |= pte::WRITABLE;
    if (flags & MAP_USER)
        bits |= pte::USER;
    if (flags & MAP_UNCACHED)
        bits |= pte::CACHE_DISABLE | pte::WRITE_THROUGH;
    if (flags & MAP_GLOBAL)
        bits |= pte::GLOBAL;
    if (!(flags & MAP_EXEC) && cpu_has_nx())
        bits |= pte::NO_EXECUTE;
    return bits;
}

bool PageTable::is_valid_range(uptr virt, usize size)
{
    if (size == 0)
        return is_canonical(virt);
    const uptr last = virt + size - 1; // inclusive: a range may end at the top of the address space
    // No wrap past 2^64, both ends canonical, and not across the hole
    // between the halves (both ends canonical but in different halves).
    return last >= virt && is_canonical(virt) && is_canonical(last) && (virt >> 63) == (last >> 63);
}

bool PageTable::is_range_unmapped(uptr virt, usize size)
{
    if (size == 0)
        return true;
    uptr last = virt + size - 1; // inclusive: a range may end at the top of the address space
    uptr position = virt;
    while (position <= last) {
        u64* table = table_at(m_pml4);
        int level = LEVELS - 1;
        for (;;) {
            u64 entry = table[index_of(position, level)];
            if (!(entry & pte::PRESENT)) {
                position = align_down(position, uptr(coverage(level))) + coverage(level);
                break;
            }
            if (level == 0 || (entry & pte::HUGE))
                return false;
            table = table_at(entry & pte::ADDRESS_MASK);
            level--;
        }
        if (position == 0)
            break; // wrapped around the top of the address space
    }
    return true;
}

Result<void> PageTable::map(uptr virt, PhysAddr phys, usize size, u32 flags, usize max_page_size)
{
    if (!is_aligned(virt, uptr(PAGE_SIZE)) || !is_aligned(phys, PhysAddr(PAGE_SIZE)) ||
        !is_aligned(size, PAGE_SIZE) || size == 0 || !is_valid_range(virt, size))
        return Error::from_errno(EINVAL);
    SpinLockGuard guard(m_lock);
    if (!is_range_unmapped(virt, size))
        return Error::from_errno(EEXIST);

    u64 bits = entry_bits(flags);
    usize done = 0;
    while (done < size) {
        uptr v = virt + done;
        PhysAddr p = phys + done;
        usize remaining = size - done;
        int leaf_level = 0;
        for (int level = 2; level >= 1; level--) {
            u64 page = coverage(level);
            if (page > max_page_size || (level == 2 && !cpu_has_1g_pages()))
                continue;
            if (is_aligned(v, uptr(page)) && is_aligned(p, PhysAddr(page)) && remaining >= page) {
                leaf_level = level;
                break;
            }
        }

        u64* table = table_at(m_pml4);
        bool out_of_memory = false;
        for (int level = LEVELS - 1; level > leaf_level; level--) {
            u64* entry = &table[index_of(v, level)];
            if (!(*entry & pte::PRESENT)) {
                PhysAddr table_phys = allocate_page_table_page();
                if (!table_phys) {
                    out_of_memory = true;
                    break;
                }
                AtomicRef(*entry).store(table_phys | table_entry_bits(v), MemoryOrder::Release);
            }
            table = table_at(*entry & pte::ADDRESS_MASK);
        }
        if (out_of_memory) {
            if (done)
                (void)unmap_locked(virt, done);
            return Error::from_errno(ENOMEM);
        }
        u64* leaf = &table[index_of(v, leaf_level)];
        if (*leaf & pte::PRESENT) {
            // An empty table left behind by an earlier unmap where a large
            // page now goes: nothing is mapped below it (checked above).
            ASSERT(leaf_level > 0 && !(*leaf & pte::HUGE));
            free_page_table_tree(*leaf & pte::ADDRESS_MASK, leaf_level - 1);
        }
        AtomicRef(*leaf).store(p | bits | (leaf_level > 0 ? pte::HUGE : 0), MemoryOrder::Release);
        // A not-present entry may still be cached as "not present" only in
        // paging-structure caches; SDM Vol. 3A §4.10.4.3 allows skipping the
        // flush, but invlpg is cheap and also covers a freed table above.
        flush_tlb_local(v);
        done += coverage(leaf_level);
    }
    return {};
}

// Calls function(entry, level, virt) for every present leaf in [virt, virt + size),
// first splitting large leaves that are only partly inside the range.
template <typename LeafFunction>
Result<void> PageTable::for_each_leaf(uptr virt, usize size, LeafFunction&& function)
{
    if (size == 0)
        return {};
    uptr last = virt + size - 1; // inclusive, as above
    uptr position = virt;
    while (position <= last) {
        u64* table = table_at(m_pml4);
        int level = LEVELS - 1;
        for (;;) {
            u64* entry = &table[index_of(position, level)];
            uptr entry_start = align_down(position, uptr(coverage(level)));
            uptr entry_end = entry_start + coverage(level); // 0 for the very last entry
            if (!(*entry & pte::PRESENT)) {
                position = entry_end;
                break;
            }
            if (level == 0 || is_large_leaf(*entry, level)) {
                if (level > 0 && (entry_start < virt || entry_end - 1 > last)) {
                    if (!split_large_page(entry, level, position))
                        return Error::from_errno(ENOMEM);
                    continue; // look at the same entry again: now a table
                }
                function(entry, level, entry_start);
                position = entry_end;
                break;
            }
            table = table_at(*entry & pte::ADDRESS_MASK);
            level--;
        }
        if (position == 0)
            break;
    }
    return {};
}

Result<void> PageTable::unmap_locked(uptr virt, usize size)
{
    return for_each_leaf(virt, size, [](u64* entry, int, uptr leaf_virt) {
        AtomicRef(*entry).store(u64(0), MemoryOrder::Release);
        flush_tlb_local(leaf_virt);
    });
}

Result<void> PageTable::unmap(uptr virt, usize size)
{
    if (!is_aligned(virt, uptr(PAGE_SIZE)) || !is_aligned(size, PAGE_SIZE) || !is_valid_range(virt, size))
        return Error::from_errno(EINVAL);
    Result<void> result;
    {
        SpinLockGuard guard(m_lock);
        result = unmap_locked(virt, size);
    }
    if (m_is_kernel)
        flush_tlb_kernel_range(virt, size);
    return result;
}

Result<void> PageTable::protect(uptr virt, usize size, u32 flags)
{
    if (!is_aligned(virt, uptr(PAGE_SIZE)) || !is_aligned(size, PAGE_SIZE) || !is_valid_range(virt, size))
        return Error::from_errno(EINVAL);
    u64 bits = entry_bits(flags);
    Result<void> result;
    {
        SpinLockGuard guard(m_lock);
        result = for_each_leaf(virt, size, [bits](u64* entry, int level, uptr leaf_virt) {
            u64 keep = level > 0 ? (leaf_address_mask(level) | pte::PAT_LARGE | pte::HUGE)
                                 : (pte::ADDRESS_MASK | pte::HUGE /* PAT */);
            keep |= pte::ACCESSED | pte::DIRTY;
            AtomicRef(*entry).store((*entry & keep) | bits, MemoryOrder::Release);
            flush_tlb_local(leaf_virt);
        });
    }
    if (m_is_kernel)
        flush_tlb_kernel_range(virt, size);
    return result;
}

Result<void> PageTable::visit_leaves(uptr virt, usize size, LeafVisitor visit, void* context)
{
    if (!is_aligned(virt, uptr(PAGE_SIZE)) || !is_aligned(size, PAGE_SIZE) || !is_valid_range(virt, size))
        return Error::from_errno(EINVAL);
    SpinLockGuard guard(m_lock);
    return for_each_leaf(virt, size, [&](u64* entry, int level, uptr leaf_virt) {
        if (level > 0) {
            // A large leaf wholly inside the range: visit it as 4 KiB pages.
            if (!split_large_page(entry, level, leaf_virt))
                return;
            (void)for_each_leaf(leaf_virt, coverage(level), [&](u64* small, int, uptr small_virt) {
                visit(context, small, small_virt);
            });
            return;
        }
        visit(context, entry, leaf_virt);
    });
}

Result<void> PageTable::set_leaf(uptr virt, u64 entry)
{
    if (!is_aligned(virt, uptr(PAGE_SIZE)) || !is_canonical(virt))
        return Error::from_errno(EINVAL);
    SpinLockGuard guard(m_lock);
    u64* table = table_at(m_pml4);
    for (int level = LEVELS - 1; level > 0; level--) {
        u64* slot = &table[index_of(virt, level)];
        if (!(*slot & pte::PRESENT)) {
            PhysAddr table_phys = allocate_page_table_page();
            if (!table_phys)
                return Error::from_errno(ENOMEM);
            AtomicRef(*slot).store(table_phys | table_entry_bits(virt), MemoryOrder::Release);
        } else if (*slot & pte::HUGE) {
            return Error::from_errno(EEXIST);
        }
        table = table_at(*slot & pte::ADDRESS_MASK);
    }
    u64* leaf = &table[index_of(virt, 0)];
    if (*leaf & pte::PRESENT)
        return Error::from_errno(EEXIST);
    AtomicRef(*leaf).store(entry, MemoryOrder::Release);
    return {};
}

// Returns whether the table *entry points to (at `level`, covering
// [entry_start, ...)) is now empty of mappings; detaches empty sub-tables
// that lie wholly inside [virt, last].
bool PageTable::detach_empty_below(u64* entry, int level, uptr entry_start, uptr virt, uptr last,
                                   TableCollector collect, void* context)
{
    u64* table = table_at(*entry & pte::ADDRESS_MASK);
    bool empty = true;
    int child_level = level - 1;
    for (usize i = 0; i < ENTRIES; i++) {
        u64* child = &table[i];
        if (!(*child & pte::PRESENT))
            continue;
        uptr child_start = entry_start + i * coverage(child_level);
        uptr child_last = child_start + coverage(child_level) - 1;
        if (child_level == 0 || (*child & pte::HUGE) || child_last < virt || child_start > last) {
            empty = false;
            continue;
        }
        bool inside = child_start >= virt && child_last <= last;
        if (detach_empty_below(child, child_level, child_start, virt, last, collect, context) && inside) {
            PhysAddr child_table = *child & pte::ADDRESS_MASK;
            AtomicRef(*child).store(u64(0), MemoryOrder::Release);
            collect(context, child_table);
        } else {
            empty = false;
        }
    }
    return empty;
}

void PageTable::detach_empty_tables(uptr virt, usize size, TableCollector collect, void* context)
{
    if (size == 0 || !is_valid_range(virt, size))
        return;
    ASSERT(!m_is_kernel);
    SpinLockGuard guard(m_lock);
    uptr last = virt + size - 1;
    u64* pml4 = table_at(m_pml4);
    for (usize i = index_of(virt, LEVELS - 1); i <= index_of(last, LEVELS - 1) && i < ENTRIES / 2; i++) {
        u64* entry = &pml4[i];
        if (!(*entry & pte::PRESENT))
            continue;
        uptr entry_start = i * coverage(LEVELS - 1);
        uptr entry_last = entry_start + coverage(LEVELS - 1) - 1;
        bool inside = entry_start >= virt && entry_last <= last;
        if (detach_empty_below(entry, LEVELS - 1, entry_start, virt, last, collect, context) && inside) {
            PhysAddr table = *entry & pte::ADDRESS_MASK;
            AtomicRef(*entry).store(u64(0), MemoryOrder::Release);
            collect(context, table);
        }
    }
}

Translation PageTable::translate(uptr virt)
{
    if (!is_canonical(virt))
        return {}; // never mapped (and would alias a canonical address)
    SpinLockGuard guard(m_lock);
    u64* table = table_at(m_pml4);
    for (int level = LEVELS - 1; level >= 0; level--) {
        u64 entry = table[index_of(virt, level)];
        if (!(entry & pte::PRESENT))
            return {};
        if (level == 0 || (entry & pte::HUGE)) {
            u64 page = coverage(level);
            return {(entry & leaf_address_mask(level)) + (virt & (page - 1)), entry, page};
        }
        table = table_at(entry & pte::ADDRESS_MASK);
    }
    return {};
}

Result<PageTable*> PageTable::create_address_space()
{
    PhysAddr pml4 = allocate_page_table_page();
    if (!pml4)
        return Error::from_errno(ENOMEM);
    u64* kernel = table_at(kernel_page_table().root());
    u64* table = table_at(pml4);
    for (usize i = ENTRIES / 2; i < ENTRIES; i++)
        table[i] = kernel[i];
    auto* page_table = new PageTable(pml4);
    if (!page_table) {
        free_page_table_page(pml4);
        return Error::from_errno(ENOMEM);
    }
    return page_table;
}

void PageTable::destroy_address_space(PageTable* page_table)
{
    ASSERT(!page_table->m_is_kernel);
    u64* table = table_at(page_table->m_pml4);
    for (usize i = 0; i < ENTRIES / 2; i++) {
        if (table[i] & pte::PRESENT)
            free_page_table_tree(table[i] & pte::ADDRESS_MASK, LEVELS - 2);
    }
    free_page_table_page(page_table->m_pml4);
    delete page_table;
}

void flush_tlb_local(uptr virt) { x86::invlpg(virt); }

void flush_tlb_local_all()
{
    // SDM Vol. 3A §4.10.4.1: toggling CR4.PGE flushes global entries too;
    // a CR3 write alone keeps them.
    u64 cr4 = x86::read_cr4();
    if (cr4 & CR4_PGE) {
        x86::write_cr4(cr4 & ~CR4_PGE);
        x86::write_cr4(cr4);
    } else {
        x86::write_cr3(x86::read_cr3());
    }
}

void flush_tlb_kernel_range(uptr virt, usize size)
{
    // This CPU directly (the IPI code may not be up yet), the others by IPI.
    constexpr usize FULL_FLUSH_PAGES = 32;
    if (size == 0 || size / PAGE_SIZE > FULL_FLUSH_PAGES) {
        flush_tlb_local_all();
    } else {
        for (uptr v = align_down(virt, uptr(PAGE_SIZE)); v < virt + size; v += PAGE_SIZE)
            flush_tlb_local(v);
    }
    CpuMask others = online_cpus();
    others.remove(current_cpu_index());
    if (!others.is_empty())
        tlb_shootdown(others, virt, size);
}

} // namespace mm
