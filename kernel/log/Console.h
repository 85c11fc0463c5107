// Consoles: the byte sinks the kernel log writes to. A driver registers one
// per output it has (drivers/serial: "ttyS0".."ttyS3", one per UART found),
// so kernel/log needs no driver. The kernel log goes to the console the
// command line names with `log=NAME` (default: the first registered, ttyS0),
// which keeps the other ports free of kernel lines: a user program's output
// on ttyS0 stays byte-exact with `log=ttyS1`.
#pragma once

#include "kernel/lib/StringView.h"
#include "kernel/lib/Types.h"

namespace console {

// Bytes out exactly as given (no newline translation); must work with
// interrupts off and from any CPU.
using WriteFunction = void (*)(void* context, const char* bytes, usize length);

struct Console {
    const char* name;
    WriteFunction write;
    void* context;
};

constexpr usize MAX_CONSOLES = 8;

// During boot (drivers' init); a name registered twice keeps the first.
void register_console(const char* name, WriteFunction write, void* context);
// nullptr when no console has that name.
const Console* find(StringView name);
// The first console registered (ttyS0 on a PC): what /dev/console writes to.
const Console* primary();
usize count();
const Console* at(usize index);

// Text for a terminal: each "\n" goes out as "\r\n".
void write_text(const Console& console, const char* text, usize length);

} // namespace console
