// The register frame every interrupt and exception entry stub builds on the
// stack (arch/x86_64/interrupts/Entry.S), lowest address first.
//
// The CPU pushes ss, rsp, rflags, cs, rip and, for some exceptions, an error
// code (Intel SDM Vol. 3A §6.14.2 "64-Bit Mode Stack Frame"); the stub pushes
// a zero error code where the CPU does not, the vector, and then every
// general register.
#pragma once

#include "kernel/lib/Types.h"

struct InterruptFrame {
    u64 r15, r14, r13, r12, r11, r10, r9, r8;
    u64 rbp, rdi, rsi, rdx, rcx, rbx, rax;
    u64 vector;
    u64 error_code;
    // Pushed by the CPU.
    u64 rip, cs, rflags, rsp, ss;

    bool from_user() const { return (cs & 3) != 0; }
};
static_assert(sizeof(InterruptFrame) == 22 * 8);
// Entry.S relies on these offsets.
static_assert(__builtin_offsetof(InterruptFrame, vector) == 15 * 8);
static_assert(__builtin_offsetof(InterruptFrame, cs) == 18 * 8);
