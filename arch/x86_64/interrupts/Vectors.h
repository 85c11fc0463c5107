// Architectural exception vectors, Intel SDM Vol. 3A §6.15 Table 6-1.
// (Device and IPI vectors are in kernel/irq/Irq.h.)
#pragma once

#include "kernel/lib/Types.h"

namespace exception {

constexpr u8 DIVIDE_ERROR = 0;
constexpr u8 DEBUG = 1;
constexpr u8 NMI = 2;
constexpr u8 BREAKPOINT = 3;
constexpr u8 OVERFLOW = 4;
constexpr u8 BOUND_RANGE = 5;
constexpr u8 INVALID_OPCODE = 6;
constexpr u8 DEVICE_NOT_AVAILABLE = 7;
constexpr u8 DOUBLE_FAULT = 8;
constexpr u8 INVALID_TSS = 10;
constexpr u8 SEGMENT_NOT_PRESENT = 11;
constexpr u8 STACK_FAULT = 12;
constexpr u8 GENERAL_PROTECTION = 13;
constexpr u8 PAGE_FAULT = 14;
constexpr u8 X87_FLOATING_POINT = 16;
constexpr u8 ALIGNMENT_CHECK = 17;
constexpr u8 MACHINE_CHECK = 18;
constexpr u8 SIMD_FLOATING_POINT = 19;
constexpr u8 VIRTUALIZATION = 20;
constexpr u8 CONTROL_PROTECTION = 21;
constexpr u8 COUNT = 32;

// Page fault error code bits, SDM Vol. 3A §4.7 Figure 4-12.
constexpr u64 PF_PRESENT = 1 << 0;
constexpr u64 PF_WRITE = 1 << 1;
constexpr u64 PF_USER = 1 << 2;
constexpr u64 PF_RESERVED_BIT = 1 << 3;
constexpr u64 PF_INSTRUCTION_FETCH = 1 << 4;
constexpr u64 PF_PROTECTION_KEY = 1 << 5;

} // namespace exception
