// One ABI fact (a constant's value, a struct's size or alignment, a field's
// offset or size), named so that a mismatch reads as "sizeof stat: 144 vs 128".
// Each side (Sluice's uapi/, the host's Linux headers, the host's libc) is
// compiled in its own translation unit from the same lists (*.def), so the
// headers never meet and a missing or misspelt name fails to compile. The
// tables are plain arrays: the Linux side may include no libc header at all
// (a C++ container would pull in glibc's, which clash with linux/time.h).
#pragma once

#include <stddef.h>

struct AbiFact {
    const char* name;
    long long value;
};

struct AbiFacts {
    const AbiFact* facts;
    size_t count;
};

AbiFacts sluice_linux_facts();  // uapi/ expanded over the Linux lists
AbiFacts linux_facts();         // the host's linux/ and asm/ headers
AbiFacts sluice_libc_facts();   // uapi/ expanded over the libc lists
AbiFacts libc_facts();          // the host's glibc headers
