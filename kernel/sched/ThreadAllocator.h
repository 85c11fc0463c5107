// Where Thread objects and their stacks come from: a slab cache ("thread")
// for the objects and 2^STACK_ORDER-page blocks of the page allocator for the
// stacks, reached through the direct map.
//
// There is no guard page below a stack (the direct map has none to give);
// the canary at the lowest word catches an overflow at the next context
// switch in debug builds.
#pragma once

#include "kernel/lib/Types.h"

class Thread;

class ThreadAllocator {
public:
    // A default-constructed Thread with its stack set, or null when memory
    // runs out.
    static Thread* allocate();
    // Destroy a thread that no CPU and no waker uses any more.
    static void free(Thread* thread);
    // Threads allocated and not yet freed.
    static u32 live_count();
};
