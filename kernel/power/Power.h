// Ending a run: ACPI soft-off (S5), or, in test mode, QEMU's isa-debug-exit
// device so the host sees pass/fail in QEMU's exit status.
#pragma once

#include "kernel/lib/Types.h"

// QEMU exits with status (value << 1) | 1 when `value` is written to the
// isa-debug-exit port: 1 means passed, 3 failed (tools/qemu maps them back).
enum class TestStatus : u8 { Passed = 0, Failed = 1 };

[[noreturn]] void power_off();
[[noreturn]] void test_exit(TestStatus status);

// Registered by the ACPI driver once the FADT is parsed; without it power_off
// falls back to the isa-debug-exit port and then halts.
struct PowerOps {
    void (*acpi_power_off)() = nullptr;
    void (*prepare_shutdown)() = nullptr; // quiesce devices (NVMe CC.SHN, flushes)
};
PowerOps& power_ops();
