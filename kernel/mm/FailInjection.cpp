#include "kernel/mm/FailInjection.h"

#include "arch/x86_64/PerCpu.h"
#include "kernel/debug/Panic.h"
#include "kernel/sched/Current.h"

namespace mm {

namespace fail_injection_detail {

Atomic<u32> g_armed;

namespace {
// Written by the arming thread before g_armed is set (release) and read only
// by that same thread afterwards, so plain fields suffice.
Thread* g_thread;
u64 g_nth;
u64 g_count;
bool g_failed;
} // namespace

bool should_fail_slow()
{
    if (this_cpu().irq_depth != 0 || current_thread() != g_thread)
        return false;
    // Only the arming thread gets here: no other CPU touches the counters.
    if (!g_armed.load(MemoryOrder::Acquire))
        return false;
    g_count++;
    if (g_count != g_nth)
        return false;
    g_failed = true;
    return true;
}

} // namespace fail_injection_detail

using namespace fail_injection_detail;

void fail_nth_allocation(u64 nth)
{
    ASSERT(current_thread() != nullptr);
    ASSERT(!g_armed.load(MemoryOrder::Relaxed)); // one test at a time
    g_thread = current_thread();
    g_nth = nth;
    g_count = 0;
    g_failed = false;
    g_armed.store(1u, MemoryOrder::Release);
}

FailInjectionReport stop_failing_allocations()
{
    g_armed.store(0u, MemoryOrder::Release);
    FailInjectionReport report {g_count, g_failed};
    g_thread = nullptr;
    return report;
}

} // namespace mm
