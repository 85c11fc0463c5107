// The in-kernel test runner, reached through this interface so that the boot
// code (kernel/init) never includes test headers: tests/ktest registers its
// runner from a global constructor, before kernel_main runs.
#pragma once

#include "kernel/lib/Types.h"

namespace self_test {

// Runs the tests `selection` names ("all" or a comma list); returns how many failed.
using Runner = u32 (*)(const char* selection, usize length);

void register_runner(Runner runner);
// nullptr when no test runner is linked into this kernel.
Runner runner();

} // namespace self_test
