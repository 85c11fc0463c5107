// CPU exceptions: every one that no subsystem claims is fatal and reported as
//   EXCEPTION <name> (#<vector>) on CPU <n>
// followed by the registers, CR2, the error code and a symbolized backtrace.
#pragma once

#include "arch/x86_64/interrupts/InterruptFrame.h"
#include "kernel/lib/Types.h"

namespace exceptions {

// A subsystem's handler for one exception vector (the memory manager's page
// fault handler, later user-copy fixups). Returns true when it resolved the
// exception and execution may resume at frame.rip; false makes it fatal.
using Handler = bool (*)(InterruptFrame& frame);
void set_handler(u8 vector, Handler handler);

// Called by the entry path for vectors 0-31.
void handle(InterruptFrame& frame);

const char* name(u8 vector);

// Print the register dump for `frame`; `cr2` as read on entry.
void dump_frame(const InterruptFrame& frame, u64 cr2);

} // namespace exceptions
