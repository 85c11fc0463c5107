// The lowest index not taken by any of `count` existing objects, so that an
// object created again (a controller rebound, a disk re-probed) gets back
// the number - and the name - it had: nvme0, vda.
#pragma once

#include "kernel/lib/Types.h"

// index_of(i) is the index held by existing object i, for i < count.
template <typename IndexOf>
u32 lowest_free_index(usize count, IndexOf&& index_of)
{
    u32 candidate = 0;
    for (bool taken = true; taken;) {
        taken = false;
        for (usize i = 0; i < count && !taken; i++)
            taken = index_of(i) == candidate;
        if (taken)
            candidate++;
    }
    return candidate;
}
