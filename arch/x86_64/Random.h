// Kernel randomness for AT_RANDOM and getrandom(2): RDRAND when the CPU has
// it (Intel SDM Vol. 1 §7.3.17), mixed with the TSC; otherwise a SplitMix64
// stream seeded from the TSC at first use. Not a reviewed CSPRNG: good
// enough for stack canaries and hash seeds, documented as such.
#pragma once

#include "kernel/lib/Types.h"

namespace random {

void get_bytes(void* buffer, usize size);
u64 next_u64();

} // namespace random
