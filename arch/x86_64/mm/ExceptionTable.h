// The exception fixup table: pairs (address of an instruction that may
// fault on a user address, where to continue if it does), emitted by the
// user-copy routines (arch/x86_64/mm/UserCopy.S) into the .extable section
// (arch/x86_64/linker.ld). Linux's __ex_table.
#pragma once

#include "kernel/lib/Types.h"

namespace extable {

struct Entry {
    u64 instruction;
    u64 fixup;
};

// The fixup for a fault at `rip`, or 0 if that instruction has none.
u64 find_fixup(u64 rip);

} // namespace extable
