// Fatal errors. panic() prints the message, the CPU, a symbolized backtrace,
// stops the other CPUs and ends the run (QEMU exit with "failed" in test mode,
// halt otherwise). Exceptions also print the register frame (arch/x86_64).
#pragma once

#include "kernel/lib/Types.h"

[[noreturn]] void panic(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

// Print "  #n 0xaddr function+0xoff" for each frame from `frame_pointer`.
void print_backtrace(u64 frame_pointer, u64 first_address = 0);
void print_symbolized_address(const char* prefix, u64 address);

// Hooks filled in by later boot stages (other CPUs to stop, how to end the run).
struct PanicHooks {
    void (*stop_other_cpus)() = nullptr;
    [[noreturn]] void (*finish)() = nullptr;
    u32 (*current_cpu)() = nullptr;
};
PanicHooks& panic_hooks();
// The common tail of panic() and fatal exceptions.
[[noreturn]] void panic_finish();
// The first line of a panic: takes the "panicking" flag so that only one CPU
// reports; returns false on a nested or concurrent panic (that CPU just halts).
bool panic_begin();

#define ASSERT(cond)                                                                               \
    do {                                                                                           \
        if (!(cond)) [[unlikely]]                                                                  \
            panic("assertion failed: %s at %s:%d", #cond, __FILE__, __LINE__);                     \
    } while (0)
#define VERIFY_NOT_REACHED() panic("unreachable code reached at %s:%d", __FILE__, __LINE__)
