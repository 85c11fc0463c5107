// User FPU/SSE/AVX state (Intel SDM Vol. 1 §13 "Managing State Using the
// XSAVE Feature Set", Vol. 1 §10.5 FXSAVE).
//
// The kernel is built with -mgeneral-regs-only, so kernel code never touches
// x87/SSE/AVX registers: whatever they hold belongs to the user thread that
// last ran. The context switch saves that state into the outgoing user
// thread's area and loads the incoming one's (eager switching: no #NM
// tricks), and exec starts from the architectural init state.
#pragma once

#include "kernel/lib/Types.h"

namespace fpu {

// Alignment XSAVE requires for its area (64 bytes; FXSAVE needs 16).
constexpr usize STATE_ALIGN = 64;

// Boot CPU first: find XSAVE, the size of its area for the enabled
// components, and enable it; every CPU: CR4.OSFXSR/OSXMMEXCPT (+ OSXSAVE and
// XCR0 when XSAVE exists). Panics on a CPU without FXSR (x86-64 always has it).
void init_this_cpu();

bool uses_xsave();
u64 enabled_features(); // XCR0 (x87 | SSE [| AVX ...]); 0x3 with FXSAVE
usize state_size();     // bytes of one saved state, a multiple of 64

// The size of the image a signal frame carries (CPUID.0xd.0:EBX for the
// enabled features, Linux's fpstate->user_size; 512 with FXSAVE).
usize image_size();
// MXCSR bits the CPU accepts (MXCSR_MASK of an FXSAVE image, SDM Vol. 1
// §10.5.1.2; 0xffbf when it reports 0).
u32 mxcsr_mask();
// An image (image_size() bytes, standard XSAVE form) that restore() may
// load without a #GP: MXCSR within the mask and, with XSAVE, only enabled
// features in XSTATE_BV, XCOMP_BV and the header's reserved bytes zero
// (SDM Vol. 1 §13.8.1).
bool image_is_valid(const void* area);

// `area` is state_size() bytes, STATE_ALIGN aligned.
void save(void* area);
void restore(const void* area);
// The state a fresh process starts with: x87 and SSE/AVX registers in their
// init state, FCW 0x37f, MXCSR 0x1f80 (Linux's fpstate_init).
void init_state(void* area);

} // namespace fpu
