#include "kernel/debug/SelfTest.h"

namespace self_test {
namespace {

// Written once by a global constructor (one CPU, before kernel_main).
Runner g_runner = nullptr;

} // namespace

void register_runner(Runner runner) { g_runner = runner; }

Runner runner() { return g_runner; }

} // namespace self_test
