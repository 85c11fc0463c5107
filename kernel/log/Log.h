// The kernel log: one line per call, on the log console, as
//   [    0.012345] I nvme: 2 I/O queues, MSI-X vectors 48-49
// i.e. seconds.microseconds since boot, a level letter, and a subsystem tag.
// Lines of any length are written whole. The console is one that a driver
// registered (kernel/log/Console.h), chosen with `log=NAME` on the command
// line; until the choice is made, lines wait in a small buffer.
// Debug lines compile away unless SLUICE_LOG_DEBUG is defined.
#pragma once

#include <stdarg.h>

#include "kernel/lib/StringView.h"
#include "kernel/lib/Types.h"

enum class LogLevel : u8 { Error, Warn, Info, Debug };

void log_message(LogLevel level, const char* tag, const char* fmt, ...) __attribute__((format(printf, 3, 4)));
void log_message_v(LogLevel level, const char* tag, const char* fmt, va_list args);
// Raw text, no prefix, no newline added (banners, tables, test output).
void log_raw(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void log_write(const char* text, usize length);
// Send the log to the console named `name` (empty: the first registered),
// replaying what was logged so far. Once, after the command line is known.
void log_choose_console(StringView name);
// The console the log goes to now (nullptr before the choice, or if none).
const char* log_console_name();
// Panic path: stop waiting for the log lock (another CPU may hold it forever).
void log_enter_panic_mode();

#define log_error(tag, ...) log_message(LogLevel::Error, tag, __VA_ARGS__)
#define log_warn(tag, ...) log_message(LogLevel::Warn, tag, __VA_ARGS__)
#define log_info(tag, ...) log_message(LogLevel::Info, tag, __VA_ARGS__)
#ifdef SLUICE_LOG_DEBUG
#define log_debug(tag, ...) log_message(LogLevel::Debug, tag, __VA_ARGS__)
#else
#define log_debug(tag, ...) ((void)0)
#endif
