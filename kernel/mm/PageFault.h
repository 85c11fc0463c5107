// The page-fault seam between the arch exception handler and kernel/mm.
//
// The #PF handler (arch) builds a PageFaultInfo from CR2 and the error code
// (SDM Vol. 3A §4.7) and calls mm::handle_page_fault() for any fault at a
// user address — from ring 3, or from ring 0 inside copy_*_user — before it
// decides anything else. It turns the result into:
//   Resolved  retry the instruction
//   MapError  SIGSEGV, si_code SEGV_MAPERR (no VMA there)
//   AccessError SIGSEGV, si_code SEGV_ACCERR (VMA forbids the access)
//   BusError  SIGBUS, si_code BUS_ADRERR (file mapping beyond EOF, I/O error)
//   OutOfMemory the OOM path (Linux: the OOM killer; here: SIGKILL)
// In ring 0 every result but Resolved jumps to the copy's fixup (-EFAULT).
#pragma once

#include "kernel/lib/Types.h"

namespace mm {

struct PageFaultInfo {
    uptr address;  // CR2
    bool write;    // error code W/R
    bool exec;     // error code I/D (instruction fetch)
    bool user;     // error code U/S (from ring 3)
    bool present;  // error code P (protection violation, not a missing page)
};

enum class FaultResult : u8 {
    Resolved,
    MapError,
    AccessError,
    BusError,
    OutOfMemory,
};

const char* fault_result_name(FaultResult result);

// Resolve a fault on the address space active on this CPU (the current
// user thread's). MapError when there is none (a kernel thread). May sleep:
// call with interrupts enabled and no spinlock held; with preemption off
// (a fault under a spinlock) it refuses with MapError rather than sleep.
FaultResult handle_page_fault(const PageFaultInfo& info);

} // namespace mm
