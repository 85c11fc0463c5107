// The PC's 16550 UARTs. COM1 (ttyS0) is the kernel's console; COM2..COM4
// (ttyS1..ttyS3), where the machine has them, are raw byte channels for user
// programs (/dev/ttyS1..3: tools/exec gives a program's stdout and stderr
// ports of their own). Polled output only; no driver model needed this early.
#pragma once

#include "kernel/lib/Types.h"

namespace serial {

constexpr unsigned PORT_COUNT = 4; // ttyS0..ttyS3

// Programs COM1, then probes COM2..COM4 (scratch register) and programs
// those that answer.
void init();
// The console (COM1): "\n" goes out as "\r\n".
void write(const char* text, usize length);
bool is_ready();

bool port_present(unsigned index);
// Bytes out of ttyS<index> exactly as given, one caller at a time.
void write_raw(unsigned index, const char* bytes, usize length);

} // namespace serial
