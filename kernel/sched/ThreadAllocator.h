// Where Thread objects and their stacks come from.
//
// Thread objects live in a fixed table in .bss (MAX_THREADS slots): under
// QEMU's multi-threaded TCG, threads whose Thread objects came from the heap
// ran tens of times slower on SMP than with this table (the cause is in the
// emulator's software TLB, not in the kernel), and a bounded table is enough
// for this kernel. Stacks are 2^STACK_ORDER-page blocks of the page
// allocator, reached through the direct map; there is no guard page below a
// stack, but the canary at its lowest word catches an overflow at the next
// context switch in debug builds.
#pragma once

#include "kernel/lib/Types.h"

class Thread;

class ThreadAllocator {
public:
    static constexpr u32 MAX_THREADS = 512;

    // A default-constructed Thread with its stack set, or null when the
    // table is full or memory runs out.
    static Thread* allocate();
    // Destroy a thread that no CPU and no waker uses any more.
    static void free(Thread* thread);
    // Threads allocated and not yet freed.
    static u32 live_count();
};
