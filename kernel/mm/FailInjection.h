// Allocation-failure injection (Linux's failslab / fail_page_alloc): make the
// Nth heap, slab or page allocation of one thread return nullptr, so a test
// can walk every failure point of a factory (a driver probe, a mount) and
// check that each one fails cleanly and gives back every page and byte.
//
// Only the arming thread's allocations count, and never those made in an
// interrupt handler, so other CPUs' and interrupts' work goes on unharmed and
// the numbering is the same on every run. Counted entry points: kmalloc's
// size classes and slab_alloc (SlabCache::allocate) and alloc_pages, the
// latter including the pages the heap and slabs take for themselves (a
// failure there is as real as any other).
//
// Disarmed (production), each allocation pays one relaxed load of a global
// and a predicted-not-taken branch.
#pragma once

#include "kernel/lib/Atomic.h"
#include "kernel/lib/Types.h"

class Thread;

namespace mm {

namespace fail_injection_detail {
extern Atomic<u32> g_armed; // nonzero while a thread has armed injection
bool should_fail_slow();
} // namespace fail_injection_detail

// Called by the allocators at each counted entry point.
inline bool should_fail_allocation()
{
    if (fail_injection_detail::g_armed.load(MemoryOrder::Relaxed) == 0) [[likely]]
        return false;
    return fail_injection_detail::should_fail_slow();
}

// Test interface. From now on, the calling thread's `nth` counted allocation
// (1-based) fails, and only that one. nth = 0 counts without failing (to
// learn how many allocations a piece of work makes).
void fail_nth_allocation(u64 nth);
// Stop injecting. Returns how many counted allocations the thread made while
// armed, and whether the armed one actually failed.
struct FailInjectionReport {
    u64 allocations;
    bool failed;
};
FailInjectionReport stop_failing_allocations();

} // namespace mm
