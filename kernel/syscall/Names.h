#pragma once

#include "kernel/lib/Types.h"

namespace sys {

// "read" for 0, ...; null for a number Linux does not define.
const char* syscall_name(u32 number);

} // namespace sys
