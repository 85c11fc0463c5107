// The kernel page table and the CPU paging features it relies on.
//
// Kernel virtual layout (arch/x86_64/boot/Layout.h):
//   0x0000000000001000 .. 1 MiB + boot code   identity map, RWX, not global:
//                                             for the SMP trampoline and the
//                                             boot GDT; dropped after SMP
//                                             bring-up (drop_low_identity_map)
//   DIRECT_MAP_BASE + phys                    every RAM region of the memory
//                                             map (usable, ACPI reclaimable,
//                                             ACPI NVS) and the low 1 MiB:
//                                             write-back; everything else below
//                                             4 GiB (firmware tables, LAPIC,
//                                             IOAPIC, ECAM, 32-bit BARs):
//                                             uncached. RW, NX, global; 1 GiB /
//                                             2 MiB pages where alignment allows.
//                                             The kernel image's text and rodata
//                                             are read-only there too.
//   MMIO_WINDOW_BASE ..                       map_mmio(): UC, NX, 4 KiB pages
//   KERNEL_VMA + phys                         the kernel image only: text RX,
//                                             rodata R+NX, data/bss RW+NX
// Device memory above 4 GiB (64-bit BARs) is not in the direct map: use
// map_mmio(), which drivers should prefer anyway (it says what is meant).
#pragma once

#include "arch/x86_64/mm/PageTable.h"
#include "kernel/lib/Types.h"

struct BootInfo;

namespace mm {

// Boot CPU: build the kernel page table from the memory map and switch to it
// (sets CR4.PGE, CR4.SMEP when present, CR0.WP; EFER.NXE is set by entry.S).
void init_kernel_page_table(const BootInfo& info);

PageTable& kernel_page_table();
// Physical address of the kernel PML4: the value for CR3 on every CPU. An AP
// loading it must have EFER.NXE set first when the CPU has NX (the tables
// use XD bits, which are reserved while NXE is clear: SDM Vol. 3A §4.6).
PhysAddr kernel_page_table_root();

// On each application processor, once it runs on the kernel page table in
// long mode: enable the same CR0/CR4/EFER paging features as the boot CPU.
void init_this_cpu_paging();

// Remove the low identity map (call once, after every AP is online and every
// CPU has loaded a GDT/IDT that lives in the higher half). Flushes the TLBs of
// every online CPU, then frees its tables.
void drop_low_identity_map();

bool cpu_has_nx();
bool cpu_has_1g_pages();

// Page-table pages (zeroed, PAGE_PAGE_TABLE set); 0 when memory runs out.
PhysAddr allocate_page_table_page();
void free_page_table_page(PhysAddr table);
// Free `table`, whose entries are at `level` (2 = PDPT, 1 = PD, 0 = PT), and
// every table below it; the pages mapped by its leaves are not touched.
void free_page_table_tree(PhysAddr table, int level);

} // namespace mm
