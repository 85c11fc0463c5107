// The PC's 16550 UARTs COM1..COM4. Each one found registers itself as a
// console ("ttyS0".."ttyS3", kernel/log/Console.h), which is how the kernel
// log and /dev/console reach it. Polled output only; no driver model needed
// this early.
#pragma once

#include "kernel/lib/Types.h"

namespace serial {

constexpr unsigned PORT_COUNT = 4; // ttyS0..ttyS3

// Programs COM1 (always: the machine's console, even if the probe cannot
// see it), probes COM2..COM4 through the scratch register, programs those
// that answer, and registers each as a console.
void init();
bool port_present(unsigned index);

} // namespace serial
