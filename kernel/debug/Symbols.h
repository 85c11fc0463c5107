// Kernel symbol lookup for backtraces.
//
// The build writes `nm -n` of the kernel image to kernel.sym and GRUB loads it
// as the Multiboot2 module "symbols"; lookups scan that text (sorted by
// address), which is only done on the rare path of a backtrace.
#pragma once

#include "kernel/lib/Types.h"

namespace symbols {

void init(const char* text, usize length);
bool available();

struct Symbol {
    const char* name; // points into the table, not NUL-terminated
    usize name_length;
    u64 offset; // from the symbol's start
};

// The function containing `address`, if the table has one.
bool lookup(u64 address, Symbol& out);

} // namespace symbols
