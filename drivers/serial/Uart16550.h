// The COM1 16550 UART: the kernel's console. Polled output only; no driver
// model needed this early.
#pragma once

#include "kernel/lib/Types.h"

namespace serial {

void init();
void write(const char* text, usize length);
bool is_ready();

} // namespace serial
