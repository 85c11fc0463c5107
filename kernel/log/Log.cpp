#include "kernel/log/Log.h"

#include "kernel/lib/Atomic.h"
#include "kernel/lib/Format.h"
#include "kernel/log/Console.h"
#include "kernel/sync/SpinLock.h"
#include "kernel/time/Clock.h"

namespace {

SpinLock g_log_lock{LockRank::Log, "log"};
Atomic<bool> g_panic_mode;

// Under g_log_lock (or in panic mode, by the one CPU left).
struct Output {
    bool chosen = false;                       // log_choose_console() ran
    const console::Console* console = nullptr; // where lines go once chosen
    // Lines logged before the command line was read, replayed on the choice.
    static constexpr usize EARLY_CAPACITY = 4096;
    char early[EARLY_CAPACITY];
    usize early_length = 0;
    usize early_dropped = 0;
} g_output;

void put(const char* text, usize length)
{
    Output& out = g_output;
    if (!out.chosen) {
        const usize room = Output::EARLY_CAPACITY - out.early_length;
        const usize kept = min(length, room);
        for (usize i = 0; i < kept; i++)
            out.early[out.early_length + i] = text[i];
        out.early_length += kept;
        out.early_dropped += length - kept;
        return;
    }
    if (out.console)
        console::write_text(*out.console, text, length);
}

void put_chunk(void*, const char* text, usize length) { put(text, length); }

void choose_locked(const console::Console* chosen)
{
    Output& out = g_output;
    out.console = chosen;
    out.chosen = true;
    put(out.early, out.early_length);
    if (out.early_dropped)
        format_stream(put_chunk, nullptr, "(%lu bytes of early log dropped)\n", out.early_dropped);
    out.early_length = out.early_dropped = 0;
}

// Runs `write` with the log to itself: under the lock, or alone in panic mode.
template <typename Write>
void with_output(Write&& write)
{
    if (g_panic_mode.load(MemoryOrder::Relaxed)) {
        // The console may never have been chosen (a panic during early boot).
        if (!g_output.chosen)
            choose_locked(console::primary());
        write();
        return;
    }
    SpinLockGuard guard(g_log_lock);
    write();
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

void log_choose_console(StringView name)
{
    const console::Console* named = name.is_empty() ? console::primary() : console::find(name);
    const console::Console* chosen;
    {
        SpinLockGuard guard(g_log_lock);
        // An unknown name keeps the log where it is (the first console at boot).
        chosen = named ? named : (g_output.chosen ? g_output.console : console::primary());
        choose_locked(chosen);
    }
    if (!named && !name.is_empty())
        log_warn("log", "log=%.*s: no such console; logging to %s", static_cast<int>(name.length()), name.chars(),
                 chosen ? chosen->name : "nothing");
}

const char* log_console_name()
{
    SpinLockGuard guard(g_log_lock);
    return g_output.console ? g_output.console->name : nullptr;
}

void log_enter_panic_mode() { g_panic_mode.store(true, MemoryOrder::Relaxed); }

void log_write(const char* text, usize length)
{
    with_output([&] { put(text, length); });
}

void log_message_v(LogLevel level, const char* tag, const char* fmt, va_list args)
{
    // One line however long, written whole under the lock.
    u64 us = clock_us();
    with_output([&] {
        format_stream(put_chunk, nullptr, "[%5lu.%06lu] %c %s: ", us / 1000000, us % 1000000, level_letter(level),
                      tag);
        format_stream_v(put_chunk, nullptr, fmt, args);
        put("\n", 1);
    });
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
    va_list args;
    va_start(args, fmt);
    with_output([&] { format_stream_v(put_chunk, nullptr, fmt, args); });
    va_end(args);
}
