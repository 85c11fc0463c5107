// The user register frame: what a user thread's registers were when it
// entered the kernel, saved at the very top of its kernel stack.
//
// Both ways in build the same layout (InterruptFrame): an interrupt or
// exception from ring 3 lands at TSS.RSP0 with the CPU's iret frame, and
// SYSCALL entry (arch/x86_64/user/SyscallEntry.S) pushes an identical frame
// by hand at the same address (PerCpu::kernel_stack_top), with
//   vector     = SYSCALL_VECTOR
//   error_code = the syscall number as it arrived (Linux's orig_rax; rax is
//                overwritten by the return value)
//   rip/rflags = rcx/r11 as SYSCALL left them.
// fork() copies it, execve() rewrites it, signal delivery will edit it.
#pragma once

#include "arch/x86_64/Gdt.h"
#include "arch/x86_64/interrupts/InterruptFrame.h"

using UserFrame = InterruptFrame;

namespace user {

constexpr u64 SYSCALL_VECTOR = 256;

// RFLAGS (SDM Vol. 1 §3.4.3): what a user program may set through popf or
// sigreturn (CF PF AF ZF SF TF DF OF AC ID and RF), and what is always set.
constexpr u64 RFLAGS_USER_SETTABLE = 0x1 | 0x4 | 0x10 | 0x40 | 0x80 | 0x100 | 0x400 | 0x800 | (1ul << 16) |
                                     (1ul << 18) | (1ul << 21);
constexpr u64 RFLAGS_FIXED = 0x2;
constexpr u64 RFLAGS_IF = 0x200;

// Highest user address + 1 that the kernel accepts (Linux TASK_SIZE_MAX:
// 2^47 minus a guard page, so that SYSRET can never return to a
// non-canonical address, SDM Vol. 2B "SYSRET" and Linux's
// arch/x86/entry/common.c).
constexpr uptr USER_END = (1ul << 47) - PAGE_SIZE;

inline bool is_canonical_user(uptr address) { return address < USER_END; }

// The frame of the user thread running on this stack (`stack_top` = its
// kernel stack top).
inline UserFrame* frame_at(uptr stack_top) { return reinterpret_cast<UserFrame*>(stack_top) - 1; }

// Fixed selectors, IOPL 0, NT/VM/VIF/VIP clear, IF set: whatever a frame was
// edited into, iretq cannot leave the thread in another privilege level or
// with interrupts off (done before every return to ring 3).
inline void sanitize(UserFrame& frame)
{
    frame.cs = gdt::USER_CODE;
    frame.ss = gdt::USER_DATA;
    frame.rflags = (frame.rflags & RFLAGS_USER_SETTABLE) | RFLAGS_FIXED | RFLAGS_IF;
}

// A frame that starts a program at `entry` with stack pointer `sp`, every
// other register zero (the x86-64 psABI's process entry state, Linux's
// start_thread).
void init_frame(UserFrame& frame, uptr entry, uptr sp);

} // namespace user
