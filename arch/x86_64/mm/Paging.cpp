// Building the kernel page table at boot, and the CPU paging features.
#include "arch/x86_64/mm/Paging.h"

#include "arch/x86_64/Cpu.h"
#include "arch/x86_64/boot/Layout.h"
#include "arch/x86_64/mm/Mmio.h"
#include "kernel/debug/Panic.h"
#include "kernel/irq/Ipi.h"
#include "arch/x86_64/boot/BootInfo.h"
#include "kernel/lib/Atomic.h"
#include "kernel/lib/Utility.h"
#include "kernel/log/Log.h"
#include "kernel/mm/DirectMap.h"
#include "kernel/mm/PageAllocator.h"

extern "C" char __text_start[];
extern "C" char __text_end[];
extern "C" char __rodata_start[];
extern "C" char __rodata_end[];
extern "C" char __data_start[];
extern "C" char __kernel_virt_start[];
extern "C" char __kernel_virt_end[];

// Read by the entry and user-copy assembly (stac/clac are #UD without SMAP).
extern "C" {
bool cpu_has_smap;
}

namespace mm {
namespace {

// CPUID feature bits (SDM Vol. 2A, CPUID instruction, Tables 3-8 to 3-10).
constexpr u32 CPUID_EXT_FEATURES = 0x80000001;
constexpr u32 CPUID_EXT_EDX_NX = 1u << 20;
constexpr u32 CPUID_EXT_EDX_PAGE1GB = 1u << 26;
constexpr u32 CPUID_FEATURES = 1;
constexpr u32 CPUID_EDX_PGE = 1u << 13;
constexpr u32 CPUID_STRUCTURED = 7;
constexpr u32 CPUID_7_EBX_SMEP = 1u << 7;
constexpr u32 CPUID_7_EBX_SMAP = 1u << 20;

// Control register bits (SDM Vol. 3A §2.5, §2.2.1).
constexpr u64 CR0_WP = 1ul << 16;
constexpr u64 CR4_PGE = 1ul << 7;
constexpr u64 CR4_SMEP = 1ul << 20;
constexpr u64 CR4_SMAP = 1ul << 21;
constexpr u32 MSR_EFER = 0xc0000080;
constexpr u64 EFER_NXE = 1ul << 11;

constexpr usize KERNEL_PML4_FIRST = 256;
constexpr usize PML4_ENTRIES = 512;
constexpr PhysAddr LOW_IDENTITY_END = 1 * MiB;
constexpr PhysAddr LOW_4G = 4 * GiB;

bool g_has_nx;
bool g_has_1g;
bool g_has_pge;
bool g_has_smep;
// Until the switch, table pages must be below 4 GiB: only that much is
// mapped by the boot page tables.
bool g_boot_tables_active = true;

struct Range {
    PhysAddr start;
    PhysAddr end;
};
constexpr usize MAX_DIRECT_RANGES = BootInfo::MAX_REGIONS + 1;
Range g_direct_ranges[MAX_DIRECT_RANGES]; // what the direct map covers, sorted, merged
usize g_direct_range_count;

alignas(PageTable) unsigned char g_kernel_storage[sizeof(PageTable)];
PageTable* g_kernel;
uptr g_identity_end; // the low identity map covers [PAGE_SIZE, g_identity_end)

void detect_features()
{
    u32 max_extended = x86::cpuid(0x80000000).eax;
    if (max_extended >= CPUID_EXT_FEATURES) {
        u32 edx = x86::cpuid(CPUID_EXT_FEATURES).edx;
        g_has_nx = edx & CPUID_EXT_EDX_NX;
        g_has_1g = edx & CPUID_EXT_EDX_PAGE1GB;
    }
    g_has_pge = x86::cpuid(CPUID_FEATURES).edx & CPUID_EDX_PGE;
    if (x86::cpuid(0).eax >= CPUID_STRUCTURED) {
        u32 ebx = x86::cpuid(CPUID_STRUCTURED, 0).ebx;
        g_has_smep = ebx & CPUID_7_EBX_SMEP;
        cpu_has_smap = ebx & CPUID_7_EBX_SMAP;
    }
}

void enable_features_on_this_cpu()
{
    if (g_has_nx)
        x86::wrmsr(MSR_EFER, x86::rdmsr(MSR_EFER) | EFER_NXE);
    // CR0.WP: ring 0 honours read-only pages too (SDM Vol. 3A §4.6.1).
    x86::write_cr0(x86::read_cr0() | CR0_WP);
    u64 cr4 = x86::read_cr4();
    if (g_has_pge)
        cr4 |= CR4_PGE;
    // SMEP: ring 0 never executes user pages; SMAP: ring 0 never reads or
    // writes them except with RFLAGS.AC set, which only the user-copy
    // routines do (arch/x86_64/mm/UserCopy.S) (§4.6.1).
    if (g_has_smep)
        cr4 |= CR4_SMEP;
    if (cpu_has_smap)
        cr4 |= CR4_SMAP;
    x86::write_cr4(cr4);
}

bool is_ram(MemoryRegion::Type type)
{
    return type == MemoryRegion::Type::Usable || type == MemoryRegion::Type::AcpiReclaimable ||
           type == MemoryRegion::Type::AcpiNvs;
}

// RAM regions rounded out to pages, plus the low 1 MiB, sorted and merged.
usize direct_map_ranges(const BootInfo& info, Range* out, usize capacity)
{
    usize count = 0;
    out[count++] = {0, LOW_IDENTITY_END};
    for (usize i = 0; i < info.region_count && count < capacity; i++) {
        const MemoryRegion& region = info.regions[i];
        if (!is_ram(region.type) || region.length == 0)
            continue;
        out[count++] = {align_down(region.base, PhysAddr(PAGE_SIZE)),
                        align_up(region.base + region.length, PhysAddr(PAGE_SIZE))};
    }
    for (usize i = 1; i < count; i++) {
        for (usize j = i; j > 0 && out[j - 1].start > out[j].start; j--)
            kstd::swap(out[j - 1], out[j]);
    }
    usize merged = 0;
    for (usize i = 0; i < count; i++) {
        if (merged && out[i].start <= out[merged - 1].end)
            out[merged - 1].end = max(out[merged - 1].end, out[i].end);
        else
            out[merged++] = out[i];
    }
    return merged;
}

void map_or_panic(uptr virt, PhysAddr phys, usize size, u32 flags, usize max_page_size, const char* what)
{
    Result<void> result = g_kernel->map(virt, phys, size, flags, max_page_size);
    if (result.is_error())
        panic("mm: mapping %s (%lx -> %lx, %zu bytes) failed: errno %d", what, virt, phys, size,
              result.error().code());
}

void map_kernel_section(const char* start, const char* end, u32 flags, const char* what)
{
    uptr virt = align_down(reinterpret_cast<uptr>(start), uptr(PAGE_SIZE));
    uptr virt_end = align_up(reinterpret_cast<uptr>(end), uptr(PAGE_SIZE));
    if (virt_end > virt)
        map_or_panic(virt, virt - KERNEL_VMA, virt_end - virt, flags | MAP_GLOBAL, PAGE_SIZE, what);
}

} // namespace

bool cpu_has_nx() { return g_has_nx; }

bool is_direct_mapped(PhysAddr phys, usize size_bytes)
{
    for (usize i = 0; i < g_direct_range_count; i++) {
        if (phys >= g_direct_ranges[i].start && phys + size_bytes <= g_direct_ranges[i].end)
            return true;
    }
    return phys + size_bytes <= LOW_4G; // holes below 4 GiB: mapped uncached
}
bool cpu_has_1g_pages() { return g_has_1g; }

PageTable& kernel_page_table() { return *g_kernel; }
PhysAddr kernel_page_table_root() { return g_kernel->root(); }

PhysAddr allocate_page_table_page()
{
    Page* page = alloc_page(ALLOC_ZERO | (g_boot_tables_active ? ALLOC_DMA32 : ALLOC_NONE));
    if (!page)
        return 0;
    page->flags.fetch_or(PAGE_PAGE_TABLE, MemoryOrder::Relaxed);
    return page_to_phys(page);
}

void free_page_table_page(PhysAddr table)
{
    Page* page = phys_to_page(table);
    ASSERT(page && (page->flags.load(MemoryOrder::Relaxed) & PAGE_PAGE_TABLE));
    page->flags.fetch_and(~PAGE_PAGE_TABLE, MemoryOrder::Relaxed);
    free_page(page);
}

void free_page_table_tree(PhysAddr table, int level)
{
    if (level > 0) {
        u64* entries = phys_to_virt<u64>(table);
        for (usize i = 0; i < PML4_ENTRIES; i++) {
            if ((entries[i] & pte::PRESENT) && !(entries[i] & pte::HUGE))
                free_page_table_tree(entries[i] & pte::ADDRESS_MASK, level - 1);
        }
    }
    free_page_table_page(table);
}

void init_kernel_page_table(const BootInfo& info)
{
    detect_features();
    PhysAddr pml4 = allocate_page_table_page();
    if (!pml4)
        panic("mm: no page for the kernel PML4");
    g_kernel = new (g_kernel_storage) PageTable(pml4, true);

    // Every kernel-half PDPT now, so that address spaces can share them.
    u64* pml4_entries = phys_to_virt<u64>(pml4);
    for (usize i = KERNEL_PML4_FIRST; i < PML4_ENTRIES; i++) {
        PhysAddr pdpt = allocate_page_table_page();
        if (!pdpt)
            panic("mm: no page for a kernel PDPT");
        pml4_entries[i] = pdpt | pte::PRESENT | pte::WRITABLE;
    }

    Range* ranges = g_direct_ranges;
    usize range_count = direct_map_ranges(info, ranges, MAX_DIRECT_RANGES);
    g_direct_range_count = range_count;
    u64 mapped_bytes = 0;
    for (usize i = 0; i < range_count; i++) {
        map_or_panic(DIRECT_MAP_BASE + ranges[i].start, ranges[i].start, ranges[i].end - ranges[i].start,
                     MAP_WRITE | MAP_GLOBAL, PAGE_SIZE_1G, "the direct map");
        mapped_bytes += ranges[i].end - ranges[i].start;
    }
    // Below 4 GiB the holes between RAM regions (firmware tables in
    // "reserved" regions, the local APIC, IOAPIC, ECAM, PCI BARs) are mapped
    // too, uncached, so phys_to_virt works there as it did with the boot page
    // tables. Uncached, so that a device register is never cached whatever
    // the MTRRs say, and so that a map_mmio() alias has the same memory type
    // (SDM Vol. 3A §11.12.4). Holes above 4 GiB need map_mmio().
    PhysAddr cursor = 0;
    u64 hole_bytes = 0;
    for (usize i = 0; i <= range_count && cursor < LOW_4G; i++) {
        PhysAddr hole_end = i < range_count ? min(ranges[i].start, LOW_4G) : LOW_4G;
        if (hole_end > cursor) {
            map_or_panic(DIRECT_MAP_BASE + cursor, cursor, hole_end - cursor, MAP_WRITE | MAP_UNCACHED | MAP_GLOBAL,
                         PAGE_SIZE_1G, "the direct map below 4 GiB");
            hole_bytes += hole_end - cursor;
        }
        if (i < range_count)
            cursor = max(cursor, ranges[i].end);
    }

    map_kernel_section(__text_start, __text_end, MAP_EXEC, "kernel text");
    map_kernel_section(__rodata_start, __rodata_end, MAP_READ, "kernel rodata");
    map_kernel_section(__data_start, __kernel_virt_end, MAP_WRITE, "kernel data");
    // The direct-map alias of text and rodata is read-only as well, so that a
    // stray write through it cannot patch the kernel.
    uptr alias = DIRECT_MAP_BASE + (reinterpret_cast<uptr>(__text_start) - KERNEL_VMA);
    uptr alias_end = DIRECT_MAP_BASE + align_up(reinterpret_cast<uptr>(__rodata_end) - KERNEL_VMA, uptr(PAGE_SIZE));
    if (g_kernel->protect(alias, alias_end - alias, MAP_READ | MAP_GLOBAL).is_error())
        panic("mm: could not write-protect the direct map of the kernel image");

    // Identity map for the SMP trampoline and the boot GDT (GDTR still holds
    // its physical address). Page 0 stays unmapped to catch null pointers.
    g_identity_end = align_up(reinterpret_cast<uptr>(__kernel_virt_start) - KERNEL_VMA, uptr(PAGE_SIZE));
    g_identity_end = max(g_identity_end, uptr(LOW_IDENTITY_END));
    map_or_panic(PAGE_SIZE, PAGE_SIZE, g_identity_end - PAGE_SIZE, MAP_WRITE | MAP_EXEC, PAGE_SIZE,
                 "the low identity map");

    enable_features_on_this_cpu();
    x86::write_cr3(pml4);
    flush_tlb_local_all();
    g_boot_tables_active = false;
    log_info("mm", "kernel page table at 0x%lx: direct map %lu MiB RAM in %zu ranges + %lu MiB uncached below 4 GiB "
             "(%s pages), NX %s, SMEP %s, SMAP %s",
             pml4, mapped_bytes / MiB, range_count, hole_bytes / MiB, g_has_1g ? "1 GiB" : "2 MiB", g_has_nx ? "on" : "off",
             g_has_smep ? "on" : "off", cpu_has_smap ? "on" : "off");
}

void init_this_cpu_paging()
{
    enable_features_on_this_cpu();
    x86::write_cr3(kernel_page_table_root());
    flush_tlb_local_all();
}

void drop_low_identity_map()
{
    static bool dropped = false;
    if (dropped)
        return;
    dropped = true;
    // The identity map is the only user of PML4 entry 0 (user space comes
    // later and will get its own address spaces), so the whole subtree goes.
    u64* pml4_entries = phys_to_virt<u64>(kernel_page_table_root());
    u64 entry = pml4_entries[0];
    AtomicRef(pml4_entries[0]).store(u64(0), MemoryOrder::Release);
    // Every CPU that ran through the trampoline has the identity map in its
    // TLB and paging-structure caches (SDM Vol. 3A §4.10.3). The tables are
    // freed below and will be reused as ordinary pages, so no CPU may keep a
    // cached PML4E/PDPTE/PDE pointing at them (§4.10.4.1): flush all CPUs,
    // this one included, before the free.
    tlb_shootdown_all(online_cpus());
    if (entry & pte::PRESENT)
        free_page_table_tree(entry & pte::ADDRESS_MASK, 2);
    log_info("mm", "low identity map dropped");
}

} // namespace mm
