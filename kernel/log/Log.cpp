#include "kernel/log/Log.h"

#include "drivers/serial/Uart16550.h"
#include "kernel/lib/Format.h"
#include "kernel/sync/SpinLock.h"
#include "kernel/time/Clock.h"

namespace {

SpinLock g_log_lock{LockRank::Log, "log"};
bool g_panic_mode = false;
constexpr usize LINE_MAX = 512;

void emit(const char* text, usize length)
{
    if (g_panic_mode) {
        serial::write(text, length);
        return;
    }
    SpinLockGuard guard(g_log_lock);
    serial::write(text, length);
}

char level_letter(LogLevel level)
{
    switch (level) {
    case LogLevel::Error:
        return 'E';
    case LogLevel::Warn:
        return 'W';
    case LogLevel::Info:
        return 'I';
    case LogLevel::Debug:
        return 'D';
    }
    return '?';
}

} // namespace

void log_enter_panic_mode() { g_panic_mode = true; }

void log_write(const char* text, usize length) { emit(text, length); }

void log_message_v(LogLevel level, const char* tag, const char* fmt, va_list args)
{
    char line[LINE_MAX];
    u64 us = clock_us();
    usize n = format_string(line, sizeof(line), "[%5lu.%06lu] %c %s: ", us / 1000000, us % 1000000,
                            level_letter(level), tag);
    n = min(n, sizeof(line) - 1);
    n += format_string_v(line + n, sizeof(line) - n, fmt, args);
    n = min(n, sizeof(line) - 2);
    line[n++] = '\n';
    emit(line, n);
}

void log_message(LogLevel level, const char* tag, const char* fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    log_message_v(level, tag, fmt, args);
    va_end(args);
}

void log_raw(const char* fmt, ...)
{
    char text[LINE_MAX];
    va_list args;
    va_start(args, fmt);
    usize n = format_string_v(text, sizeof(text), fmt, args);
    va_end(args);
    emit(text, min(n, sizeof(text) - 1));
}
