// mm::AddressSpace: VMAs, the page table and the CPUs that cached it.
#include "kernel/mm/AddressSpace.h"

#include "arch/x86_64/Cpu.h"
#include "arch/x86_64/PerCpu.h"
#include "arch/x86_64/mm/PageTable.h"
#include "arch/x86_64/mm/Paging.h"
#include "kernel/debug/Panic.h"
#include "kernel/irq/Ipi.h"
#include "kernel/lib/Atomic.h"
#include "kernel/lib/String.h"
#include "kernel/mm/DirectMap.h"
#include "kernel/mm/PageAllocator.h"
#include "kernel/mm/PageRef.h"
#include "kernel/mm/SharedAnonymous.h"
#include "uapi/mman.h"

namespace mm {
namespace {

Atomic<AddressSpace*> g_active[MAX_CPUS]; // the space whose CR3 each CPU runs on
Atomic<u64> g_live;

// PageTable::visit_leaves with a lambda.
template <typename Function>
Result<void> visit_leaves(PageTable& table, uptr start, usize size, Function& function)
{
    return table.visit_leaves(
        start, size, [](void* context, u64* entry, uptr virt) { (*static_cast<Function*>(context))(entry, virt); },
        &function);
}

Page* page_of_entry(u64 entry) { return phys_to_page(entry & pte::ADDRESS_MASK); }

Page* allocate_anonymous_page()
{
    Page* page = alloc_page(ALLOC_ZERO);
    if (page)
        page->flags.fetch_or(PAGE_ANON, MemoryOrder::Relaxed);
    return page;
}

bool is_anonymous_page(const Page& page) { return page.flags.load(MemoryOrder::Relaxed) & PAGE_ANON; }

FaultResult fault_from_error(Error error)
{
    return error.code() == ENOMEM ? FaultResult::OutOfMemory : FaultResult::BusError;
}

} // namespace

Vma* allocate_vma() { return new Vma; }
void free_vma(Vma* vma) { delete vma; }

// Pages and page-table pages taken out of the page table, released only once
// no CPU can still reach them through its TLB or paging-structure caches.
class ZapBatch {
public:
    static constexpr usize CAPACITY = 64;

    ZapBatch(AddressSpace& space, bool shoot_down = true) : m_space(space), m_shoot_down(shoot_down) { }
    ~ZapBatch() { flush(); }
    ZapBatch(const ZapBatch&) = delete;
    ZapBatch& operator=(const ZapBatch&) = delete;

    bool is_full() const { return m_count == CAPACITY; }

    // `dirty_to`: a MAP_SHARED page whose entry had the dirty bit: the
    // backing learns about the write before the page is let go.
    void add_page(Page& page, uptr virt, VmBacking* dirty_to)
    {
        m_pages[m_count] = &page;
        m_dirty_to[m_count] = dirty_to;
        m_count++;
        cover(virt, virt + PAGE_SIZE);
    }

    void add_table(PhysAddr table)
    {
        if (m_table_count == CAPACITY)
            flush();
        m_tables[m_table_count++] = table;
    }

    void cover(uptr start, uptr end)
    {
        m_start = min(m_start, start);
        m_end = max(m_end, end);
    }

    void flush()
    {
        if (m_count == 0 && m_table_count == 0)
            return;
        if (m_shoot_down && m_end > m_start)
            m_space.shootdown(m_start, m_end - m_start);
        for (usize i = 0; i < m_count; i++) {
            if (m_dirty_to[i])
                m_dirty_to[i]->set_page_dirty(*m_pages[i]);
            put_page_ref(*m_pages[i]);
        }
        for (usize i = 0; i < m_table_count; i++)
            free_page_table_page(m_tables[i]);
        m_count = 0;
        m_table_count = 0;
        m_start = ~uptr(0);
        m_end = 0;
    }

private:
    AddressSpace& m_space;
    bool m_shoot_down;
    Page* m_pages[CAPACITY];
    VmBacking* m_dirty_to[CAPACITY];
    usize m_count = 0;
    PhysAddr m_tables[CAPACITY];
    usize m_table_count = 0;
    uptr m_start = ~uptr(0);
    uptr m_end = 0;
};

// --- lifetime -------------------------------------------------------------------

Result<AddressSpace*> AddressSpace::create()
{
    PageTable* table = TRY(PageTable::create_address_space());
    auto* space = new AddressSpace(table);
    if (!space) {
        PageTable::destroy_address_space(table);
        return Error::from_errno(ENOMEM);
    }
    g_live.fetch_add(1, MemoryOrder::Relaxed);
    return space;
}

u64 AddressSpace::live_count() { return g_live.load(MemoryOrder::Relaxed); }

void AddressSpace::ref() { m_refcount.fetch_add(1, MemoryOrder::Relaxed); }

void AddressSpace::unref()
{
    i32 left = m_refcount.sub_fetch(1, MemoryOrder::AcqRel);
    ASSERT(left >= 0);
    if (left == 0)
        delete this;
}

AddressSpace::~AddressSpace()
{
    // A CPU may still run on this page table (a kernel thread that kept the
    // last user CR3): move each to the kernel page table first. After that no
    // CPU caches its entries (a CR3 load drops non-global translations, SDM
    // Vol. 3A §4.10.4.1), so pages and tables go back without a shootdown.
    smp_call_function_many(
        cpus_seen(), [](void* space) { static_cast<AddressSpace*>(space)->deactivate(); }, this, true);
    {
        ZapBatch batch(*this, false);
        while (Vma* vma = m_vmas.list().first()) {
            zap_range(*vma, vma->start, vma->end, batch);
            m_vmas.remove(*vma);
            if (vma->backing)
                vma->backing->unref();
            free_vma(vma);
        }
    }
    PageTable::destroy_address_space(m_page_table);
    g_live.fetch_sub(1, MemoryOrder::Relaxed);
}

// --- CPUs and TLBs ------------------------------------------------------------

CpuMask AddressSpace::cpus_seen() const
{
    u64 bits = m_cpus_seen.load(MemoryOrder::SeqCst);
    CpuMask mask;
    while (bits) {
        mask.add(static_cast<u32>(__builtin_ctzl(bits)));
        bits &= bits - 1;
    }
    return mask;
}

void AddressSpace::activate()
{
    u32 cpu = current_cpu_index();
    // Publish the CPU before loading CR3 (a locked RMW is a full barrier): a
    // shootdown that changed entries and then read the mask either sees this
    // CPU or happened before the CR3 load, which picks up the new entries.
    m_cpus_seen.fetch_or(u64(1) << cpu, MemoryOrder::SeqCst);
    g_active[cpu].store(this, MemoryOrder::Release);
    x86::write_cr3(m_page_table->root());
}

void AddressSpace::deactivate()
{
    bool interrupts = x86::save_and_disable_interrupts();
    u32 cpu = current_cpu_index();
    if (g_active[cpu].load(MemoryOrder::Acquire) == this) {
        x86::write_cr3(kernel_page_table_root());
        g_active[cpu].store(static_cast<AddressSpace*>(nullptr), MemoryOrder::Release);
    }
    x86::restore_interrupts(interrupts);
}

AddressSpace* AddressSpace::active() { return g_active[current_cpu_index()].load(MemoryOrder::Acquire); }

void AddressSpace::shootdown(uptr start, usize length)
{
    CpuMask cpus = cpus_seen();
    if (!cpus.is_empty())
        tlb_shootdown(cpus, start, length);
}

// --- entries ------------------------------------------------------------------

u64 AddressSpace::entry_bits(const Vma& vma, bool writable) const
{
    u32 flags = 0;
    // PROT_NONE keeps the page but makes it a supervisor page: ring 3 cannot
    // touch it (docs/Memory.md: the difference from Linux's PROT_NONE bit).
    if (vma.flags & VMA_PROT_MASK)
        flags |= MAP_USER;
    if (writable && (vma.flags & VMA_WRITE))
        flags |= MAP_WRITE;
    if (vma.flags & VMA_EXEC)
        flags |= MAP_EXEC;
    return PageTable::entry_bits(flags);
}

// Remove the pages of [start, end) (inside `vma`) from the page table.
void AddressSpace::zap_range(Vma& vma, uptr start, uptr end, ZapBatch& batch)
{
    VmBacking* shared = vma.is_shared() ? vma.backing : nullptr;
    bool stopped = false;
    auto zap = [&](u64* entry, uptr virt) {
        if (batch.is_full()) {
            stopped = true;
            return;
        }
        u64 value = *entry;
        AtomicRef(*entry).store(u64(0), MemoryOrder::Release);
        if (Page* page = page_of_entry(value))
            batch.add_page(*page, virt, (shared && (value & pte::DIRTY)) ? shared : nullptr);
        else
            batch.cover(virt, virt + PAGE_SIZE);
    };
    uptr position = start;
    for (;;) {
        stopped = false;
        (void)visit_leaves(*m_page_table, position, end - position, zap);
        if (!stopped)
            break;
        batch.flush();
    }
}

Result<void> AddressSpace::unmap_locked(uptr start, uptr end)
{
    TRY(m_vmas.split_around(start, end));
    ZapBatch batch(*this);
    Vma* vma = m_vmas.find_first_ending_after(start);
    while (vma && vma->start < end) {
        Vma* next = m_vmas.next(*vma);
        zap_range(*vma, vma->start, vma->end, batch);
        m_vmas.remove(*vma);
        if (vma->backing)
            vma->backing->unref();
        free_vma(vma);
        vma = next;
    }
    batch.cover(start, end);
    // Page-table pages that now map nothing between the neighbouring VMAs go
    // too (Linux free_pgtables' floor and ceiling), after the same shootdown.
    Vma* above = m_vmas.find_first_ending_after(start);
    Vma* below = above ? m_vmas.previous(*above) : m_vmas.list().last();
    uptr floor = below ? below->end : 0;
    uptr ceiling = above ? above->start : USER_END + PAGE_SIZE;
    m_page_table->detach_empty_tables(
        floor, ceiling - floor,
        [](void* context, PhysAddr table) { static_cast<ZapBatch*>(context)->add_table(table); }, &batch);
    return {};
}

// --- mmap -------------------------------------------------------------------------

Result<uptr> AddressSpace::choose_address(const MapRequest& request)
{
    // Whole pages: a length that is not a multiple of the page size must not
    // give an unaligned start (it did: top-down placement subtracts it).
    usize length = align_up(request.length, PAGE_SIZE);
    uptr low = MMAP_MIN_ADDR;
    uptr high = MMAP_BASE;
    if (request.flags & MAP_32BIT) {
        // Linux x86-64: MAP_32BIT allocates in the first 2 GiB, from 1 GiB up.
        low = 0x40000000;
        high = 0x80000000;
    }
    uptr hint = align_down(request.address, uptr(PAGE_SIZE));
    if (hint && hint >= MMAP_MIN_ADDR && hint <= USER_END - length && m_vmas.is_free(hint, hint + length))
        return hint;
    auto found = m_vmas.find_free_range(length, low, high);
    if (!found.is_error())
        return found.release_value();
    // Below the mmap base is full: anything free at all (Linux's bottom-up fallback).
    return m_vmas.find_free_range(length, low, USER_END);
}

Result<uptr> AddressSpace::map(const MapRequest& request)
{
    u32 type = request.flags & MAP_TYPE;
    if (type != MAP_PRIVATE && type != MAP_SHARED && type != MAP_SHARED_VALIDATE)
        return Error::from_errno(EINVAL);
    if (request.length == 0 || !is_aligned(request.offset, u64(PAGE_SIZE)))
        return Error::from_errno(EINVAL);
    if (request.length > USER_END)
        return Error::from_errno(ENOMEM);
    if (request.offset + align_up(request.length, PAGE_SIZE) < request.offset)
        return Error::from_errno(EOVERFLOW);
    if ((request.flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) && !is_aligned(request.address, uptr(PAGE_SIZE)))
        return Error::from_errno(EINVAL);
    if (!(request.flags & MAP_ANONYMOUS) && !request.backing)
        return Error::from_errno(EBADF);
    MutexGuard guard(m_lock);
    return map_locked(request);
}

Result<uptr> AddressSpace::map_locked(const MapRequest& request)
{
    usize length = align_up(request.length, PAGE_SIZE);
    bool fixed = request.flags & (MAP_FIXED | MAP_FIXED_NOREPLACE);
    uptr start;
    if (fixed) {
        start = request.address;
        if (start > USER_END || length > USER_END - start)
            return Error::from_errno(ENOMEM);
        if (start < MMAP_MIN_ADDR)
            return Error::from_errno(EPERM); // Linux: security_mmap_addr() below mmap_min_addr
        if ((request.flags & MAP_FIXED_NOREPLACE) && !(request.flags & MAP_FIXED) &&
            !m_vmas.is_free(start, start + length))
            return Error::from_errno(EEXIST);
    } else {
        start = TRY(choose_address(request));
    }

    bool shared = (request.flags & MAP_TYPE) != MAP_PRIVATE;
    VmBacking* backing = request.backing;
    u64 offset = request.offset;
    if (request.flags & MAP_ANONYMOUS) {
        backing = nullptr;
        offset = 0;
    }
    // A new object for shared anonymous memory; otherwise the VMA takes its own reference.
    if (!backing && shared) {
        backing = TRY(SharedAnonymous::create(length));
    } else if (backing) {
        if (!shared && !backing->allows_private())
            return Error::from_errno(EINVAL);
        backing->ref();
    }
    Vma* vma = allocate_vma();
    if (!vma) {
        if (backing)
            backing->unref();
        return Error::from_errno(ENOMEM);
    }
    if (fixed) {
        auto unmapped = unmap_locked(start, start + length);
        if (unmapped.is_error()) {
            if (backing)
                backing->unref();
            free_vma(vma);
            return unmapped.error();
        }
    }
    vma->start = start;
    vma->end = start + length;
    vma->flags = (request.prot & VMA_PROT_MASK) | (shared ? u32(VMA_SHARED) : 0u) | request.extra_vma_flags;
    if (request.flags & MAP_GROWSDOWN)
        vma->flags |= VMA_GROWSDOWN;
    if (request.flags & MAP_NORESERVE)
        vma->flags |= VMA_NORESERVE;
    vma->backing = backing;
    vma->offset = offset;
    m_vmas.insert(*vma);
    m_vmas.merge_neighbours(*vma);

    if (request.flags & MAP_POPULATE) {
        // Prefault as Linux does: write faults for private writable memory so
        // the later writes do not fault again; errors are not reported.
        bool write = (request.prot & PROT_WRITE) && !shared;
        for (uptr page = start; page < start + length; page += PAGE_SIZE) {
            if (fault_locked(page, write, false, false) != FaultResult::Resolved)
                break;
        }
    }
    return start;
}

Result<void> AddressSpace::unmap(uptr address, usize length)
{
    if (!is_aligned(address, uptr(PAGE_SIZE)) || length == 0)
        return Error::from_errno(EINVAL);
    length = align_up(length, PAGE_SIZE);
    if (address > USER_END || length > USER_END - address)
        return Error::from_errno(EINVAL);
    MutexGuard guard(m_lock);
    return unmap_locked(address, address + length);
}

// --- mprotect -------------------------------------------------------------------

Result<void> AddressSpace::protect(uptr address, usize length, u32 prot)
{
    if (!is_aligned(address, uptr(PAGE_SIZE)))
        return Error::from_errno(EINVAL);
    if (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_GROWSDOWN | PROT_GROWSUP))
        return Error::from_errno(EINVAL);
    if ((prot & PROT_GROWSDOWN) && (prot & PROT_GROWSUP))
        return Error::from_errno(EINVAL);
    length = align_up(length, PAGE_SIZE);
    if (address + length < address || address + length > USER_END + PAGE_SIZE)
        return Error::from_errno(ENOMEM);
    if (length == 0)
        return {};
    uptr end = address + length;
    MutexGuard guard(m_lock);
    // Linux applies the change VMA by VMA and stops with ENOMEM at the first
    // hole (or EACCES at a VMA that may not become writable); what came
    // before it stays changed.
    uptr position = address;
    int stop_error = 0;
    for (Vma* vma = m_vmas.find_first_ending_after(address); position < end; vma = m_vmas.next(*vma)) {
        if (!vma || vma->start > position) {
            stop_error = ENOMEM;
            break;
        }
        if ((prot & PROT_WRITE) && (vma->flags & VMA_NO_WRITE)) {
            stop_error = EACCES; // a MAP_SHARED file opened without write access
            break;
        }
        position = vma->end;
    }
    uptr requested_end = end;
    end = min(end, position);
    if (end <= address)
        return Error::from_errno(stop_error);
    length = end - address;
    TRY(m_vmas.split_around(address, end));
    u32 new_prot = prot & VMA_PROT_MASK;
    Vma* vma = m_vmas.find(address);
    while (vma && vma->start < end) {
        vma->flags = (vma->flags & ~VMA_PROT_MASK) | new_prot;
        // Entries follow the VMA: write permission stays only where the entry
        // had it (a COW-shared or clean shared page must still fault first).
        Vma& current = *vma;
        auto update = [&](u64* entry, uptr) {
            bool writable = *entry & pte::WRITABLE;
            u64 keep = *entry & (pte::ADDRESS_MASK | pte::ACCESSED | pte::DIRTY);
            AtomicRef(*entry).store(keep | entry_bits(current, writable), MemoryOrder::Release);
        };
        (void)visit_leaves(*m_page_table, vma->start, vma->size(), update);
        Vma* merged = m_vmas.merge_neighbours(*vma);
        vma = m_vmas.next(*merged);
    }
    shootdown(address, length);
    if (end < requested_end && stop_error)
        return Error::from_errno(stop_error);
    return {};
}

// --- brk -------------------------------------------------------------------------

void AddressSpace::set_brk_start(uptr address)
{
    MutexGuard guard(m_lock);
    m_brk_start = m_brk = align_up(address, uptr(PAGE_SIZE));
}

uptr AddressSpace::brk(uptr new_break)
{
    MutexGuard guard(m_lock);
    if (new_break < m_brk_start || new_break > MMAP_BASE)
        return m_brk;
    uptr old_top = align_up(m_brk, uptr(PAGE_SIZE));
    uptr new_top = align_up(new_break, uptr(PAGE_SIZE));
    if (new_top < old_top) {
        if (unmap_locked(new_top, old_top).is_error())
            return m_brk;
    } else if (new_top > old_top) {
        // Linux leaves a page between the break and the next mapping.
        if (!m_vmas.is_free(old_top, new_top + PAGE_SIZE))
            return m_brk;
        MapRequest request;
        request.address = old_top;
        request.length = new_top - old_top;
        request.prot = PROT_READ | PROT_WRITE;
        request.flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
        request.extra_vma_flags = VMA_HEAP;
        if (map_locked(request).is_error())
            return m_brk;
    }
    m_brk = new_break;
    return m_brk;
}

// --- mremap -----------------------------------------------------------------------

Result<uptr> AddressSpace::remap(uptr old_address, usize old_length, usize new_length, u32 flags, uptr new_address)
{
    if (flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP))
        return Error::from_errno(EINVAL);
    if ((flags & MREMAP_FIXED) && !(flags & MREMAP_MAYMOVE))
        return Error::from_errno(EINVAL);
    if (flags & MREMAP_DONTUNMAP)
        return Error::from_errno(EINVAL); // not offered (Linux 5.7+); programs fall back
    if (!is_aligned(old_address, uptr(PAGE_SIZE)))
        return Error::from_errno(EINVAL);
    old_length = align_up(old_length, PAGE_SIZE);
    new_length = align_up(new_length, PAGE_SIZE);
    if (new_length == 0)
        return Error::from_errno(EINVAL);
    if (old_length == 0)
        return Error::from_errno(EINVAL); // duplicating shared mappings with old_size 0: not offered
    if ((flags & MREMAP_FIXED) && !is_aligned(new_address, uptr(PAGE_SIZE)))
        return Error::from_errno(EINVAL);
    if (old_address > USER_END || old_length > USER_END - old_address)
        return Error::from_errno(EFAULT);

    MutexGuard guard(m_lock);
    Vma* vma = m_vmas.find(old_address);
    if (!vma || old_address + old_length > vma->end)
        return Error::from_errno(EFAULT);

    if (flags & MREMAP_FIXED) {
        if (new_address > USER_END || new_length > USER_END - new_address)
            return Error::from_errno(EINVAL);
        // The ranges may not overlap.
        if (new_address < old_address + old_length && old_address < new_address + new_length)
            return Error::from_errno(EINVAL);
    } else {
        if (new_length <= old_length) {
            if (new_length < old_length)
                TRY(unmap_locked(old_address + new_length, old_address + old_length));
            return old_address;
        }
        // Grow in place when the VMA ends here and the space after it is free.
        uptr old_end = old_address + old_length;
        if (old_end == vma->end && old_end + (new_length - old_length) <= USER_END &&
            m_vmas.is_free(old_end, old_end + (new_length - old_length))) {
            vma->end = old_end + (new_length - old_length);
            m_vmas.merge_neighbours(*vma);
            return old_address;
        }
        if (!(flags & MREMAP_MAYMOVE))
            return Error::from_errno(ENOMEM);
    }

    // Move: isolate the old range as one VMA, pick the new place, move the entries.
    TRY(m_vmas.split_around(old_address, old_address + old_length));
    vma = m_vmas.find(old_address);
    uptr destination;
    if (flags & MREMAP_FIXED) {
        TRY(unmap_locked(new_address, new_address + new_length));
        destination = new_address;
    } else {
        MapRequest request;
        request.length = new_length;
        destination = TRY(choose_address(request));
    }
    usize moved = min(old_length, new_length);
    Vma* moved_vma = allocate_vma();
    if (!moved_vma)
        return Error::from_errno(ENOMEM);
    moved_vma->start = destination;
    moved_vma->end = destination + new_length;
    moved_vma->flags = vma->flags;
    moved_vma->backing = vma->backing;
    moved_vma->offset = vma->offset;
    if (moved_vma->backing)
        moved_vma->backing->ref();

    // Move each present entry; pages keep their references (they change place, not owner).
    for (uptr offset = 0; offset < moved; offset += PAGE_SIZE) {
        Translation translation = m_page_table->translate(old_address + offset);
        if (!translation.is_mapped())
            continue;
        u64 value = 0;
        auto take = [&](u64* entry, uptr) {
            value = *entry;
            AtomicRef(*entry).store(u64(0), MemoryOrder::Release);
        };
        (void)visit_leaves(*m_page_table, old_address + offset, PAGE_SIZE, take);
        if (value && m_page_table->set_leaf(destination + offset, value).is_error()) {
            // No table page for the destination: the page goes (a fresh zero
            // page or a re-read appears there); nothing leaks.
            if (Page* page = page_of_entry(value)) {
                shootdown(old_address + offset, PAGE_SIZE);
                put_page_ref(*page);
            }
        }
    }
    shootdown(old_address, old_length);
    // The old VMA goes, with whatever pages it still has past `moved`.
    {
        ZapBatch batch(*this);
        zap_range(*vma, vma->start, vma->end, batch);
        m_vmas.remove(*vma);
        if (vma->backing)
            vma->backing->unref();
        free_vma(vma);
    }
    m_vmas.insert(*moved_vma);
    m_vmas.merge_neighbours(*moved_vma);
    return destination;
}

// --- madvise, msync, mincore ---------------------------------------------------

Result<void> AddressSpace::advise(uptr address, usize length, int advice)
{
    if (!is_aligned(address, uptr(PAGE_SIZE)))
        return Error::from_errno(EINVAL);
    switch (advice) {
    case MADV_NORMAL:
    case MADV_RANDOM:
    case MADV_SEQUENTIAL:
    case MADV_WILLNEED:
    case MADV_DONTNEED:
    case MADV_FREE:
    case MADV_DONTFORK:
    case MADV_DOFORK:
        break;
    default:
        return Error::from_errno(EINVAL);
    }
    length = align_up(length, PAGE_SIZE);
    if (address + length < address)
        return Error::from_errno(EINVAL);
    if (length == 0)
        return {};
    uptr end = address + length;
    MutexGuard guard(m_lock);
    bool hole = false;
    u32 set = 0;
    u32 clear = 0;
    switch (advice) {
    case MADV_NORMAL: clear = VMA_RANDOM | VMA_SEQUENTIAL; break;
    case MADV_RANDOM: set = VMA_RANDOM, clear = VMA_SEQUENTIAL; break;
    case MADV_SEQUENTIAL: set = VMA_SEQUENTIAL, clear = VMA_RANDOM; break;
    case MADV_DONTFORK: set = VMA_DONTFORK; break;
    case MADV_DOFORK: clear = VMA_DONTFORK; break;
    default: break;
    }
    if (set || clear)
        TRY(m_vmas.split_around(address, end));
    ZapBatch batch(*this);
    uptr position = address;
    Vma* vma = m_vmas.find_first_ending_after(address);
    while (vma && vma->start < end) {
        if (vma->start > position)
            hole = true;
        uptr from = max(vma->start, address);
        uptr to = min(vma->end, end);
        if (advice == MADV_DONTNEED || advice == MADV_FREE) {
            // Private anonymous memory reads back as zeroes, private file
            // memory as the file, shared memory keeps its contents.
            zap_range(*vma, from, to, batch);
        } else if (advice == MADV_WILLNEED && vma->backing) {
            vma->backing->will_need(vma->page_index(from), (to - from) >> PAGE_SHIFT);
        }
        position = vma->end;
        Vma* next = m_vmas.next(*vma);
        if (set || clear) {
            vma->flags = (vma->flags & ~clear) | set;
            Vma* merged = m_vmas.merge_neighbours(*vma);
            next = m_vmas.next(*merged);
        }
        vma = next;
    }
    if (position < end)
        hole = true;
    batch.flush();
    if (hole)
        return Error::from_errno(ENOMEM);
    return {};
}

Result<void> AddressSpace::sync(uptr address, usize length, int flags)
{
    if (!is_aligned(address, uptr(PAGE_SIZE)))
        return Error::from_errno(EINVAL);
    if (flags & ~(MS_ASYNC | MS_INVALIDATE | MS_SYNC))
        return Error::from_errno(EINVAL);
    if ((flags & MS_ASYNC) && (flags & MS_SYNC))
        return Error::from_errno(EINVAL);
    length = align_up(length, PAGE_SIZE);
    if (address + length < address)
        return Error::from_errno(ENOMEM);
    if (length == 0)
        return {};
    uptr end = address + length;
    MutexGuard guard(m_lock);
    uptr position = address;
    bool hole = false;
    Result<void> result;
    for (Vma* vma = m_vmas.find_first_ending_after(address); vma && vma->start < end; vma = m_vmas.next(*vma)) {
        if (vma->start > position)
            hole = true;
        uptr from = max(vma->start, address);
        uptr to = min(vma->end, end);
        position = vma->end;
        if (!vma->is_shared() || !vma->backing)
            continue;
        // Hand the dirty bits of the entries to the backing (a write through
        // the mapping leaves no other trace), then write back if asked.
        VmBacking* backing = vma->backing;
        bool cleaned = false;
        auto harvest = [&](u64* entry, uptr) {
            if (*entry & pte::DIRTY) {
                AtomicRef(*entry).fetch_and(~pte::DIRTY, MemoryOrder::AcqRel);
                if (Page* page = page_of_entry(*entry))
                    backing->set_page_dirty(*page);
                cleaned = true;
            }
        };
        (void)visit_leaves(*m_page_table, from, to - from, harvest);
        if (cleaned)
            shootdown(from, to - from); // the next write sets the dirty bit again
        if (flags & MS_SYNC) {
            auto synced = backing->sync_range(vma->page_index(from), vma->page_index(to - 1));
            if (synced.is_error() && !result.is_error())
                result = synced.error();
        }
    }
    if (hole || position < end)
        return Error::from_errno(ENOMEM);
    return result;
}

Result<void> AddressSpace::mincore(uptr address, usize length, u8* vector)
{
    if (!is_aligned(address, uptr(PAGE_SIZE)))
        return Error::from_errno(EINVAL);
    usize pages = align_up(length, PAGE_SIZE) >> PAGE_SHIFT;
    if (address > USER_END || (pages << PAGE_SHIFT) > USER_END - address)
        return Error::from_errno(ENOMEM);
    MutexGuard guard(m_lock);
    for (usize i = 0; i < pages; i++) {
        uptr page = address + (i << PAGE_SHIFT);
        Vma* vma = m_vmas.find(page);
        if (!vma)
            return Error::from_errno(ENOMEM);
        bool resident = m_page_table->translate(page).is_mapped();
        if (!resident && vma->backing)
            resident = vma->backing->is_resident(vma->page_index(page));
        vector[i] = resident ? 1 : 0;
    }
    return {};
}

// --- faults ---------------------------------------------------------------------

Vma* AddressSpace::find_vma_for_fault(uptr address)
{
    if (Vma* vma = m_vmas.find(address))
        return vma;
    // A stack grows down to the faulting page, up to STACK_MAX, keeping the
    // guard gap to the mapping below it (Linux expand_downwards).
    Vma* above = m_vmas.find_first_ending_after(address);
    if (!above || !(above->flags & VMA_GROWSDOWN))
        return nullptr;
    uptr new_start = align_down(address, uptr(PAGE_SIZE));
    if (above->end - new_start > STACK_MAX || new_start < MMAP_MIN_ADDR)
        return nullptr;
    Vma* below = m_vmas.previous(*above);
    if (below && below->end + STACK_GUARD_GAP > new_start)
        return nullptr;
    if (above->backing)
        return nullptr;
    above->start = new_start;
    return above;
}

FaultResult AddressSpace::fault_missing(Vma& vma, uptr page_va, bool write)
{
    Page* page;
    bool writable;
    if (!vma.backing) {
        page = allocate_anonymous_page();
        if (!page)
            return FaultResult::OutOfMemory;
        writable = true;
    } else {
        u64 index = vma.page_index(page_va);
        if (index >= (vma.backing->size_bytes() + PAGE_SIZE - 1) >> PAGE_SHIFT)
            return FaultResult::BusError;
        bool shared = vma.is_shared();
        auto got = vma.backing->get_page(index, write && shared);
        if (got.is_error())
            return fault_from_error(got.error());
        page = got.release_value();
        writable = false;
        if (write && shared) {
            vma.backing->set_page_dirty(*page);
            writable = true;
        } else if (write) {
            // MAP_PRIVATE write: this process's own copy of the file page.
            Page* copy = allocate_anonymous_page();
            if (!copy) {
                put_page_ref(*page);
                return FaultResult::OutOfMemory;
            }
            memcpy(page_address(copy), page_address(page), PAGE_SIZE);
            put_page_ref(*page);
            page = copy;
            writable = true;
        }
    }
    u64 entry = page_to_phys(page) | entry_bits(vma, writable);
    auto set = m_page_table->set_leaf(page_va, entry);
    if (set.is_error()) {
        put_page_ref(*page);
        return set.error().code() == EEXIST ? FaultResult::Resolved : FaultResult::OutOfMemory;
    }
    return FaultResult::Resolved;
}

FaultResult AddressSpace::fault_write_protected(Vma& vma, uptr page_va, u64 old_entry)
{
    Page* page = page_of_entry(old_entry);
    if (!page)
        return FaultResult::AccessError;
    u64 keep = old_entry & (pte::ADDRESS_MASK | pte::ACCESSED | pte::DIRTY);
    if (vma.is_shared() || (is_anonymous_page(*page) && page_ref_count(*page) == 1)) {
        // Shared memory: the first write dirties the page. A private page
        // only this entry maps: reuse it. Widening needs no shootdown (a
        // stale read-only entry elsewhere faults and finds it resolved).
        if (vma.is_shared() && vma.backing)
            vma.backing->set_page_dirty(*page);
        auto widen = [&](u64* entry, uptr) { AtomicRef(*entry).store(keep | entry_bits(vma, true), MemoryOrder::Release); };
        (void)visit_leaves(*m_page_table, page_va, PAGE_SIZE, widen);
        flush_tlb_local(page_va);
        return FaultResult::Resolved;
    }
    // Break COW: copy into a fresh page, switch the entry, shoot the old
    // translation down everywhere, then drop the old page.
    Page* copy = allocate_anonymous_page();
    if (!copy)
        return FaultResult::OutOfMemory;
    memcpy(page_address(copy), page_address(page), PAGE_SIZE);
    u64 entry = page_to_phys(copy) | entry_bits(vma, true) | pte::DIRTY | pte::ACCESSED;
    auto replace = [&](u64* slot, uptr) { AtomicRef(*slot).store(entry, MemoryOrder::Release); };
    (void)visit_leaves(*m_page_table, page_va, PAGE_SIZE, replace);
    shootdown(page_va, PAGE_SIZE);
    put_page_ref(*page);
    return FaultResult::Resolved;
}

FaultResult AddressSpace::fault_locked(uptr address, bool write, bool exec, bool force)
{
    if (address >= USER_END)
        return FaultResult::MapError;
    Vma* vma = find_vma_for_fault(address);
    if (!vma)
        return FaultResult::MapError;
    if (!force) {
        // x86 cannot map write-only or execute-only pages: either implies read.
        if ((vma->flags & VMA_PROT_MASK) == 0)
            return FaultResult::AccessError;
        if (write && !(vma->flags & VMA_WRITE))
            return FaultResult::AccessError;
        if (exec && !(vma->flags & VMA_EXEC))
            return FaultResult::AccessError;
    }
    uptr page_va = align_down(address, uptr(PAGE_SIZE));
    Translation translation = m_page_table->translate(page_va);
    if (!translation.is_mapped())
        return fault_missing(*vma, page_va, write);
    if (write && !translation.is_writable() && (force || (vma->flags & VMA_WRITE))) {
        if (force && !(vma->flags & VMA_WRITE)) {
            // The kernel writes through the direct map (populate_from): it
            // only needs a private page, not a writable entry.
            Page* page = page_of_entry(translation.entry);
            if (vma->is_shared() || (page && is_anonymous_page(*page) && page_ref_count(*page) == 1))
                return FaultResult::Resolved;
            // Copy like a COW break, keeping the entry read-only.
            Page* copy = allocate_anonymous_page();
            if (!copy)
                return FaultResult::OutOfMemory;
            if (page)
                memcpy(page_address(copy), page_address(page), PAGE_SIZE);
            u64 entry = page_to_phys(copy) | entry_bits(*vma, false);
            auto replace = [&](u64* slot, uptr) { AtomicRef(*slot).store(entry, MemoryOrder::Release); };
            (void)visit_leaves(*m_page_table, page_va, PAGE_SIZE, replace);
            shootdown(page_va, PAGE_SIZE);
            if (page)
                put_page_ref(*page);
            return FaultResult::Resolved;
        }
        return fault_write_protected(*vma, page_va, translation.entry);
    }
    // Present with the access allowed: another thread resolved it, or this
    // CPU holds a stale entry from before a widening.
    flush_tlb_local(page_va);
    return FaultResult::Resolved;
}

FaultResult AddressSpace::handle_fault(const PageFaultInfo& info)
{
    MutexGuard guard(m_lock);
    return fault_locked(info.address, info.write, info.exec, false);
}

FaultResult handle_page_fault(const PageFaultInfo& info)
{
    if (this_cpu().preempt_count > 0 || this_cpu().irq_depth > 0 || !x86::interrupts_enabled())
        return FaultResult::MapError; // cannot sleep for the lock here
    AddressSpace* space = AddressSpace::active();
    if (!space)
        return FaultResult::MapError;
    return space->handle_fault(info);
}

const char* fault_result_name(FaultResult result)
{
    switch (result) {
    case FaultResult::Resolved: return "resolved";
    case FaultResult::MapError: return "SEGV_MAPERR";
    case FaultResult::AccessError: return "SEGV_ACCERR";
    case FaultResult::BusError: return "SIGBUS";
    case FaultResult::OutOfMemory: return "OOM";
    }
    return "?";
}

// --- kernel access ----------------------------------------------------------------

Result<void> AddressSpace::populate_from(uptr destination, const void* source, usize size)
{
    if (destination > USER_END || size > USER_END - destination)
        return Error::from_errno(EFAULT);
    MutexGuard guard(m_lock);
    const u8* from = static_cast<const u8*>(source);
    usize done = 0;
    while (done < size) {
        uptr address = destination + done;
        uptr page_va = align_down(address, uptr(PAGE_SIZE));
        usize chunk = min(size - done, usize(page_va + PAGE_SIZE - address));
        FaultResult result = fault_locked(address, true, false, true);
        if (result != FaultResult::Resolved)
            return Error::from_errno(result == FaultResult::OutOfMemory ? ENOMEM : EFAULT);
        Translation translation = m_page_table->translate(page_va);
        ASSERT(translation.is_mapped());
        u8* target = phys_to_virt<u8>(translation.phys) + (address - page_va);
        if (from)
            memcpy(target, from + done, chunk);
        else
            memset(target, 0, chunk);
        done += chunk;
    }
    return {};
}

Result<void> AddressSpace::pin_user_pages(uptr address, usize count, bool write, Page** pages)
{
    if (!is_aligned(address, uptr(PAGE_SIZE)) || address > USER_END || count > (USER_END - address) >> PAGE_SHIFT)
        return Error::from_errno(EFAULT);
    MutexGuard guard(m_lock);
    for (usize i = 0; i < count; i++) {
        uptr page_va = address + (i << PAGE_SHIFT);
        Translation translation = m_page_table->translate(page_va);
        bool usable = translation.is_mapped() && translation.is_user() && (!write || translation.is_writable());
        if (!usable) {
            FaultResult result = fault_locked(page_va, write, false, false);
            translation = m_page_table->translate(page_va);
            if (result != FaultResult::Resolved || !translation.is_mapped()) {
                unpin_user_pages(pages, i);
                return Error::from_errno(result == FaultResult::OutOfMemory ? ENOMEM : EFAULT);
            }
        }
        Page* page = page_of_entry(translation.entry);
        if (!page) {
            unpin_user_pages(pages, i);
            return Error::from_errno(EFAULT);
        }
        get_page_ref(*page, PIN_BIAS);
        pages[i] = page;
    }
    return {};
}

void AddressSpace::unpin_user_pages(Page** pages, usize count)
{
    for (usize i = 0; i < count; i++)
        put_page_ref(*pages[i], PIN_BIAS);
}

// --- fork -------------------------------------------------------------------------

Result<void> AddressSpace::copy_into(AddressSpace& child, Vma& vma)
{
    Result<void> result;
    bool shared = vma.is_shared();
    auto copy = [&](u64* entry, uptr virt) {
        if (result.is_error())
            return;
        u64 value = *entry;
        Page* page = page_of_entry(value);
        u64 child_entry = value & ~pte::ACCESSED;
        if (page && !shared && is_anonymous_page(*page) && page_maybe_pinned(*page)) {
            // A page under DMA stays the parent's: the child gets a copy now
            // (Linux copies pinned pages at fork for the same reason).
            Page* fresh = allocate_anonymous_page();
            if (!fresh) {
                result = Error::from_errno(ENOMEM);
                return;
            }
            memcpy(page_address(fresh), page_address(page), PAGE_SIZE);
            child_entry = (value & ~pte::ADDRESS_MASK & ~pte::ACCESSED) | page_to_phys(fresh);
            auto set = child.m_page_table->set_leaf(virt, child_entry);
            if (set.is_error()) {
                put_page_ref(*fresh);
                result = set.error();
            }
            return;
        }
        if (!shared && (value & pte::WRITABLE)) {
            // Copy-on-write: both sides read-only until the first write.
            value &= ~pte::WRITABLE;
            AtomicRef(*entry).store(value, MemoryOrder::Release);
            child_entry &= ~pte::WRITABLE;
        }
        if (page)
            get_page_ref(*page);
        auto set = child.m_page_table->set_leaf(virt, child_entry);
        if (set.is_error()) {
            if (page)
                put_page_ref(*page);
            result = set.error();
        }
    };
    (void)visit_leaves(*m_page_table, vma.start, vma.size(), copy);
    return result;
}

Result<AddressSpace*> AddressSpace::fork()
{
    AddressSpace* child = TRY(create());
    Result<void> result;
    {
        MutexGuard guard(m_lock);
        child->m_brk_start = m_brk_start;
        child->m_brk = m_brk;
        for (Vma& vma : m_vmas.list()) {
            if (vma.flags & VMA_DONTFORK)
                continue;
            Vma* copy = allocate_vma();
            if (!copy) {
                result = Error::from_errno(ENOMEM);
                break;
            }
            copy->start = vma.start;
            copy->end = vma.end;
            copy->flags = vma.flags;
            copy->backing = vma.backing;
            copy->offset = vma.offset;
            if (copy->backing)
                copy->backing->ref();
            child->m_vmas.insert(*copy);
            result = copy_into(*child, vma);
            if (result.is_error())
                break;
        }
        // The parent's entries lost their write permission: no CPU may keep
        // a writable translation of a page that is now shared.
        shootdown(0, 0);
    }
    if (result.is_error()) {
        child->unref();
        return result.error();
    }
    return child;
}

// --- counters ---------------------------------------------------------------------

usize AddressSpace::vma_count()
{
    MutexGuard guard(m_lock);
    return m_vmas.count();
}

u64 AddressSpace::resident_pages()
{
    MutexGuard guard(m_lock);
    u64 pages = 0;
    auto count = [&](u64*, uptr) { pages++; };
    for (Vma& vma : m_vmas.list())
        (void)visit_leaves(*m_page_table, vma.start, vma.size(), count);
    return pages;
}

} // namespace mm
