#include "arch/x86_64/PerCpu.h"

#include "arch/x86_64/Cpu.h"
#include "kernel/debug/Panic.h"
#include "kernel/lib/Atomic.h"

namespace percpu {
namespace {

constexpr u32 MSR_GS_BASE = 0xc0000101;
constexpr u32 MSR_KERNEL_GS_BASE = 0xc0000102;

PerCpu g_cpus[MAX_CPUS];
u32 g_possible = 1;

void load(PerCpu& cpu)
{
    x86::wrmsr(MSR_GS_BASE, reinterpret_cast<u64>(&cpu));
    x86::wrmsr(MSR_KERNEL_GS_BASE, 0);
}

} // namespace

void init_boot_cpu() { init_this_cpu(0); }

void init_this_cpu(u32 index)
{
    ASSERT(index < MAX_CPUS);
    PerCpu& cpu = g_cpus[index];
    cpu.self = &cpu;
    cpu.index = index;
    load(cpu);
    cpu.online.store(true, MemoryOrder::Release);
}

PerCpu& cpu(u32 index) { return g_cpus[index]; }

u32 possible_count() { return g_possible; }

void set_possible_count(u32 count) { g_possible = count; }

u32 online_count()
{
    u32 n = 0;
    for (u32 i = 0; i < g_possible; i++)
        n += g_cpus[i].online.load(MemoryOrder::Acquire) ? 1 : 0;
    return n;
}

} // namespace percpu
