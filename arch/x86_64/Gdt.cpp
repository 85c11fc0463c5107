#include "arch/x86_64/Gdt.h"

#include "arch/x86_64/PerCpu.h"
#include "kernel/debug/Panic.h"
#include "kernel/mm/PageAllocator.h"

namespace gdt {
namespace {

// 64-bit TSS, Intel SDM Vol. 3A §7.7 Figure 7-11.
struct [[gnu::packed]] Tss {
    u32 reserved0;
    u64 rsp[3];
    u64 reserved1;
    u64 ist[7];
    u64 reserved2;
    u16 reserved3;
    u16 io_map_base;
};
static_assert(sizeof(Tss) == 104);

struct [[gnu::packed]] DescriptorPointer {
    u16 limit;
    u64 base;
};

// Segment descriptor bits, SDM Vol. 3A §3.4.5.
constexpr u64 DESC_ACCESSED = 1ul << 40;
constexpr u64 DESC_WRITABLE = 1ul << 41; // data: writable; code: readable
constexpr u64 DESC_CODE = 1ul << 43;
constexpr u64 DESC_CODE_OR_DATA = 1ul << 44; // S flag
constexpr u64 DESC_DPL3 = 3ul << 45;
constexpr u64 DESC_PRESENT = 1ul << 47;
constexpr u64 DESC_LONG = 1ul << 53;        // L: 64-bit code segment
constexpr u64 DESC_DEFAULT32 = 1ul << 54;   // D/B
constexpr u64 DESC_GRANULARITY = 1ul << 55; // limit in 4 KiB units
constexpr u64 DESC_LIMIT_MAX = 0xffffull | (0xful << 48);
// System descriptor type 9: available 64-bit TSS (SDM Vol. 3A §3.5 Table 3-2).
constexpr u64 DESC_TYPE_TSS_AVAILABLE = 9ul << 40;

constexpr u64 FLAT = DESC_PRESENT | DESC_CODE_OR_DATA | DESC_ACCESSED | DESC_WRITABLE | DESC_GRANULARITY |
                     DESC_LIMIT_MAX;
constexpr u64 KERNEL_CODE_DESC = FLAT | DESC_CODE | DESC_LONG;
constexpr u64 KERNEL_DATA_DESC = FLAT | DESC_DEFAULT32;
constexpr u64 USER_CODE32_DESC = FLAT | DESC_CODE | DESC_DEFAULT32 | DESC_DPL3;
constexpr u64 USER_DATA_DESC = FLAT | DESC_DEFAULT32 | DESC_DPL3;
constexpr u64 USER_CODE_DESC = FLAT | DESC_CODE | DESC_LONG | DESC_DPL3;

constexpr usize GDT_ENTRIES = 8; // null, 5 segments, 16-byte TSS descriptor

struct alignas(64) CpuTables {
    u64 gdt[GDT_ENTRIES];
    Tss tss;
};

CpuTables g_tables[MAX_CPUS];

// The boot CPU's IST stacks live in the image (its GDT is loaded before the
// page allocator exists); the APs' come from the page allocator.
constexpr usize IST_COUNT = 3;
constexpr unsigned IST_STACK_ORDER = 2;
static_assert((PAGE_SIZE << IST_STACK_ORDER) == IST_STACK_SIZE);
alignas(16) u8 g_boot_ist_stacks[IST_COUNT][IST_STACK_SIZE];

u64 ist_stack_top(u32 cpu, usize slot)
{
    if (cpu == 0)
        return reinterpret_cast<u64>(g_boot_ist_stacks[slot] + IST_STACK_SIZE);
    Page* pages = mm::alloc_pages(IST_STACK_ORDER);
    if (!pages)
        panic("gdt: no memory for the IST stacks of CPU %u", cpu);
    return reinterpret_cast<u64>(mm::page_address(pages)) + IST_STACK_SIZE;
}

void set_tss_descriptor(u64* slot, const Tss& tss)
{
    u64 base = reinterpret_cast<u64>(&tss);
    u64 limit = sizeof(Tss) - 1;
    slot[0] = (limit & 0xffff) | ((base & 0xffffff) << 16) | DESC_TYPE_TSS_AVAILABLE | DESC_PRESENT |
              (((base >> 24) & 0xff) << 56);
    slot[1] = base >> 32;
}

} // namespace

void init_this_cpu(u32 cpu)
{
    ASSERT(cpu < MAX_CPUS);
    CpuTables& t = g_tables[cpu];
    t.gdt[0] = 0;
    t.gdt[KERNEL_CODE / 8] = KERNEL_CODE_DESC;
    t.gdt[KERNEL_DATA / 8] = KERNEL_DATA_DESC;
    t.gdt[USER_CODE32 / 8] = USER_CODE32_DESC;
    t.gdt[USER_DATA / 8] = USER_DATA_DESC;
    t.gdt[USER_CODE / 8] = USER_CODE_DESC;
    set_tss_descriptor(&t.gdt[TSS / 8], t.tss);

    t.tss = Tss{};
    // No I/O permission bitmap: a base beyond the limit denies all ports to ring 3.
    t.tss.io_map_base = sizeof(Tss);
    // Allocated once per CPU: a CPU set up again keeps its stacks.
    static u64 ist_tops[MAX_CPUS][IST_COUNT];
    for (usize slot = 0; slot < IST_COUNT; slot++) {
        if (!ist_tops[cpu][slot])
            ist_tops[cpu][slot] = ist_stack_top(cpu, slot);
    }
    t.tss.ist[IST_NMI - 1] = ist_tops[cpu][0];
    t.tss.ist[IST_DOUBLE_FAULT - 1] = ist_tops[cpu][1];
    t.tss.ist[IST_MACHINE_CHECK - 1] = ist_tops[cpu][2];

    DescriptorPointer pointer{sizeof(t.gdt) - 1, reinterpret_cast<u64>(t.gdt)};
    // Reload CS with a far return, then the data segments. FS and GS are not
    // touched: on Intel, loading a selector would overwrite the GS base that
    // holds the per-CPU pointer.
    asm volatile("lgdt %0\n\t"
                 "pushq %1\n\t"
                 "leaq 1f(%%rip), %%rax\n\t"
                 "pushq %%rax\n\t"
                 "lretq\n"
                 "1:\n\t"
                 "movw %w2, %%ds\n\t"
                 "movw %w2, %%es\n\t"
                 "movw %w2, %%ss\n\t"
                 "ltr %w3"
                 :
                 : "m"(pointer), "i"(static_cast<u64>(KERNEL_CODE)), "r"(static_cast<u32>(KERNEL_DATA)),
                   "r"(static_cast<u32>(TSS))
                 : "rax", "memory");
}

void set_kernel_stack(u32 cpu, u64 stack_top)
{
    g_tables[cpu].tss.rsp[0] = stack_top;
}

} // namespace gdt
