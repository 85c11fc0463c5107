// Where Thread objects and their stacks come from.
//
// For now a fixed pool in .bss: MAX_THREADS slots, each a Thread and a
// STACK_SIZE stack (no guard page; the stack canary catches overflows at the
// next context switch in debug builds). Moving to the page allocator and a
// slab cache changes only ThreadAllocator.cpp.
#pragma once

#include "kernel/lib/Types.h"

class Thread;

class ThreadAllocator {
public:
    static constexpr u32 MAX_THREADS = 128;

    // A default-constructed Thread with its stack set, or null when full.
    static Thread* allocate();
    // Destroy a thread that no CPU and no waker uses any more.
    static void free(Thread* thread);
    // Threads allocated and not yet freed.
    static u32 live_count();
};
