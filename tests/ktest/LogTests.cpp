// kernel/log: lines of any length reach the console whole, the log follows
// log_choose_console(), and /dev/console writes to the first console.
#include "fs/vfs/FileApi.h"
#include "kernel/lib/String.h"
#include "kernel/log/Console.h"
#include "kernel/log/Log.h"
#include "tests/ktest/Ktest.h"
#include "uapi/fcntl.h"

namespace {

// A console that keeps what it is sent (the log's lock serialises writers).
struct Capture {
    static constexpr usize CAPACITY = 8192;
    char bytes[CAPACITY];
    usize length = 0;
} g_capture;

void capture_write(void*, const char* bytes, usize length)
{
    for (usize i = 0; i < length && g_capture.length < Capture::CAPACITY; i++)
        g_capture.bytes[g_capture.length++] = bytes[i];
}

// Runs `log` with the kernel log sent to the capture console, then puts the
// log back where it was.
template <typename Log>
void capture_log(Log&& log)
{
    console::register_console("ktest-capture", capture_write, nullptr);
    const char* previous = log_console_name();
    g_capture.length = 0;
    log_choose_console("ktest-capture");
    log();
    log_choose_console(previous ? StringView(previous) : StringView());
}

bool captured_contains(const char* text)
{
    const usize n = strlen(text);
    for (usize i = 0; i + n <= g_capture.length; i++)
        if (memcmp(g_capture.bytes + i, text, n) == 0)
            return true;
    return false;
}

} // namespace

KTEST(log, long_raw_line_is_whole_with_its_newline)
{
    static char line[1601];
    memset(line, 'x', 1500);
    memcpy(line + 1500, ":END", 5);
    capture_log([] { log_raw("LONG:%s\n", line); });
    // "LONG:" + 1500 x + ":END" + "\r\n": nothing cut, the newline kept.
    KEXPECT_EQ(g_capture.length, 5u + 1500u + 4u + 2u);
    KEXPECT(captured_contains(":END\r\n"));
    KEXPECT(g_capture.length >= 5 && memcmp(g_capture.bytes, "LONG:", 5) == 0);
}

KTEST(log, long_message_is_whole_with_its_newline)
{
    static char text[1001];
    memset(text, 'y', 1000);
    capture_log([] { log_info("ktest", "%s|", text); });
    KEXPECT(captured_contains(" I ktest: yyyy"));
    KEXPECT(captured_contains("yyyy|\r\n"));
    usize ys = 0;
    for (usize i = 0; i < g_capture.length; i++)
        ys += g_capture.bytes[i] == 'y';
    KEXPECT_EQ(ys, 1000u);
}

KTEST(log, unknown_console_keeps_the_current_one)
{
    const char* before = log_console_name();
    KASSERT(before);
    log_choose_console("ttyS9-none");
    const char* after = log_console_name();
    KASSERT(after);
    KEXPECT(strcmp(after, before) == 0);
}

// The scenario qemu.log_console runs this with log=ttyS1 and checks that
// ttyS0 carries exactly these bytes and no log line.
KTEST(log, dev_console_writes_the_first_console)
{
    KASSERT(console::primary() != nullptr);
    KEXPECT(strcmp(console::primary()->name, "ttyS0") == 0);
    auto file = vfs::open("/dev/console", O_WRONLY);
    KASSERT(!file.is_error());
    static const char MARKER[] = "console: written through /dev/console\n";
    KEXPECT_EQ(vfs::write(*file.value(), MARKER, sizeof(MARKER) - 1).value(), sizeof(MARKER) - 1);
    KEXPECT(!vfs::close(file.value()).is_error());
}
