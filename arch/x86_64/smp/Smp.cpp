#include "arch/x86_64/smp/Smp.h"

#include "arch/x86_64/Cpu.h"
#include "arch/x86_64/PerCpu.h"
#include "arch/x86_64/apic/Apic.h"
#include "arch/x86_64/apic/Lapic.h"
#include "arch/x86_64/interrupts/Interrupts.h"
#include "arch/x86_64/mm/KernelStack.h"
#include "arch/x86_64/mm/Paging.h"
#include "arch/x86_64/smp/TrampolineLayout.h"
#include "arch/x86_64/time/TscCalibration.h"
#include "arch/x86_64/acpi/Acpi.h"
#include "kernel/debug/Panic.h"
#include "kernel/irq/Ipi.h"
#include "arch/x86_64/boot/BootInfo.h"
#include "kernel/lib/Atomic.h"
#include "kernel/lib/String.h"
#include "kernel/log/Log.h"
#include "kernel/mm/DirectMap.h"
#include "kernel/mm/PageAllocator.h"
#include "kernel/sched/SchedHooks.h"
#include "kernel/time/Clock.h"
#include "kernel/time/TimerQueue.h"

extern "C" const u8 smp_trampoline_start[];
extern "C" const u8 smp_trampoline_data[];
extern "C" const u8 smp_trampoline_end[];

namespace smp {
namespace {

// Trampoline.S's data block, in the same order.
struct [[gnu::packed]] TrampolineData {
    u64 pml4;
    u64 stack_top;
    u64 entry;
    u32 cpu;
    u32 efer_bits;
};
static_assert(sizeof(TrampolineData) == 32);

constexpr u32 EFER_NXE = 1 << 11;
// Each AP's boot stack, which it keeps as the stack of the code that calls
// sched::start_secondary_cpu() (the scheduler's idle context on that CPU).
// SDM Vol. 3A §9.4.4.1: INIT, wait 10 ms, STARTUP, wait 200 us, STARTUP,
// wait 200 us.
constexpr u64 INIT_DELAY_US = 10000;
constexpr u64 STARTUP_DELAY_US = 200;
// How long the boot CPU waits for an AP to report in (TCG is slow).
constexpr u64 AP_ONLINE_TIMEOUT_NS = 2000000000ull;

Atomic<u32> g_started_cpu{~0u};

void signal_started(u32 cpu) { g_started_cpu.store(cpu, MemoryOrder::Release); }

bool wait_until(u64 deadline_ns, auto done)
{
    while (!done()) {
        if (clock_ns() > deadline_ns)
            return false;
        x86::pause();
    }
    return true;
}

// First C++ on an AP: on its own stack, on the trampoline's GDT and a low
// copy of the kernel page table.
[[noreturn]] void ap_entry(u32 cpu)
{
    mm::init_this_cpu_paging(); // the real kernel CR3, CR4/EFER features
    percpu::init_this_cpu(cpu);
    signal_started(cpu);
    interrupts::init_secondary_cpu(cpu); // higher-half GDT/TSS, IDT
    apic::init_secondary_cpu();
    timers::init_this_cpu();
    log_info("smp", "CPU %u (APIC ID %u) online", cpu, this_cpu().apic_id);
    ipi::mark_this_cpu_online(); // the boot CPU waits for this
    // Interrupts stay off: the scheduler turns them on in its idle context.
    sched::start_secondary_cpu();
}

void prepare_trampoline()
{
    usize size = static_cast<usize>(smp_trampoline_end - smp_trampoline_start);
    ASSERT(size <= PAGE_SIZE);
    memcpy(phys_to_virt<u8>(SMP_TRAMPOLINE_PHYS), smp_trampoline_start, size);
    // The PML4 copy shares every lower-level table with the kernel's, so it
    // maps the kernel, the direct map and the low identity map alike.
    memcpy(phys_to_virt<u8>(SMP_TRAMPOLINE_PML4_PHYS), phys_to_virt<u8>(mm::kernel_page_table_root()), PAGE_SIZE);
}

TrampolineData& trampoline_data()
{
    return *phys_to_virt<TrampolineData>(SMP_TRAMPOLINE_PHYS +
                                          static_cast<usize>(smp_trampoline_data - smp_trampoline_start));
}

bool start_cpu(u32 cpu, u32 apic_id)
{
    u8* stack = mm::map_kernel_stack(mm::ap_kernel_stack_slot(cpu)); // guard-paged
    if (!stack) {
        log_error("smp", "no memory for the stack of CPU %u", cpu);
        return false;
    }
    TrampolineData& data = trampoline_data();
    data.pml4 = SMP_TRAMPOLINE_PML4_PHYS;
    data.stack_top = reinterpret_cast<u64>(stack) + mm::KERNEL_STACK_BYTES;
    data.entry = reinterpret_cast<u64>(&ap_entry);
    data.cpu = cpu;
    data.efer_bits = mm::cpu_has_nx() ? EFER_NXE : 0;
    percpu::cpu(cpu).apic_id = apic_id;
    g_started_cpu.store(~0u, MemoryOrder::Release);
    asm volatile("mfence" : : : "memory");

    u8 start_page = SMP_TRAMPOLINE_PHYS >> PAGE_SHIFT;
    lapic::send_init(apic_id);
    tsc::delay_us(INIT_DELAY_US);
    for (int attempt = 0; attempt < 2; attempt++) {
        lapic::send_startup(apic_id, start_page);
        tsc::delay_us(STARTUP_DELAY_US);
        // A running AP ignores the second STARTUP anyway; skip it if we can.
        if (g_started_cpu.load(MemoryOrder::Acquire) == cpu)
            break;
    }
    u64 deadline = clock_ns() + AP_ONLINE_TIMEOUT_NS;
    bool online = wait_until(deadline, [&] {
        return g_started_cpu.load(MemoryOrder::Acquire) == cpu && online_cpus().has(cpu);
    });
    if (!online) {
        // Park it again so that a late start cannot run on a reused index.
        lapic::send_init(apic_id);
        log_error("smp", "CPU with APIC ID %u did not come online", apic_id);
    }
    return online;
}

} // namespace

void init()
{
    u64 madt_cpus = acpi::processor_count();
    u32 boot_apic_id = this_cpu().apic_id;
    u64 wanted = boot_info().command_line.get_u64("smp", madt_cpus ? madt_cpus : 1);
    wanted = min<u64>(max<u64>(wanted, 1), min<u64>(madt_cpus ? madt_cpus : 1, MAX_CPUS));
    percpu::set_possible_count(static_cast<u32>(wanted));

    if (wanted > 1)
        prepare_trampoline();
    u32 next = 1;
    for (usize i = 0; i < madt_cpus && next < wanted; i++) {
        u32 apic_id = acpi::processor(i).apic_id;
        if (apic_id == boot_apic_id)
            continue;
        if (start_cpu(next, apic_id))
            next++;
    }
    // A CPU that failed is not counted: indices stay dense.
    percpu::set_possible_count(next);
    log_info("smp", "%u of %lu CPUs online, %lu us after kernel entry", percpu::online_count(),
             madt_cpus ? madt_cpus : 1, clock_us());
    mm::drop_low_identity_map();
}

} // namespace smp
