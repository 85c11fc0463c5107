// Per-CPU Global Descriptor Table and Task State Segment.
//
// Long mode ignores segment bases and limits for code and data (Intel SDM
// Vol. 3A §3.2.4), so the GDT holds only the flat code/data descriptors and
// the TSS, whose job here is the Interrupt Stack Table: the double fault, NMI
// and machine check handlers run on their own known-good stacks (SDM Vol. 3A
// §6.14.5), so that a kernel stack overflow still produces a report.
#pragma once

#include "kernel/lib/Types.h"

namespace gdt {

// Selector layout. The user entries follow the order SYSCALL/SYSRET need
// (SDM Vol. 2B "SYSRET": CS = STAR[63:48] + 16, SS = STAR[63:48] + 8), so
// that syscall entry can use STAR[63:48] = USER_CODE32.
constexpr u16 KERNEL_CODE = 0x08;
constexpr u16 KERNEL_DATA = 0x10;
constexpr u16 USER_CODE32 = 0x18;
constexpr u16 USER_DATA = 0x20 | 3;
constexpr u16 USER_CODE = 0x28 | 3;
constexpr u16 TSS = 0x30;

// IST slots (1-based, as the IDT gate encodes them).
constexpr u8 IST_NMI = 1;
constexpr u8 IST_DOUBLE_FAULT = 2;
constexpr u8 IST_MACHINE_CHECK = 3;
constexpr usize IST_STACK_SIZE = 16 * KiB;

// Build and load this CPU's GDT and TSS (with fresh IST stacks) and reload
// the segment registers. GS is left alone: its base is the per-CPU pointer.
void init_this_cpu(u32 cpu);

// The ring-0 stack loaded on entry from ring 3 (TSS.RSP0).
void set_kernel_stack(u32 cpu, u64 stack_top);

} // namespace gdt
