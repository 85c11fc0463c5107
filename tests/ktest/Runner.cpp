#include <stdarg.h>

#include "arch/x86_64/boot/BootInfo.h"
#include "kernel/debug/SelfTest.h"
#include "kernel/lib/Format.h"
#include "kernel/lib/StringView.h"
#include "kernel/log/Log.h"
#include "kernel/time/Clock.h"
#include "tests/ktest/Ktest.h"

// The .ktest section holds one pointer per KTEST (pointers, not the cases
// themselves, so that section alignment padding cannot shift the array).
extern "C" const KtestCase* const __ktest_start[];
extern "C" const KtestCase* const __ktest_end[];

void ktest_fail(KtestContext& context, const char* file, int line, const char* fmt, ...)
{
    char message[256];
    va_list args;
    va_start(args, fmt);
    format_string_v(message, sizeof(message), fmt, args);
    va_end(args);
    log_raw("ktest:   %s.%s: %s:%d: %s\n", context.suite, context.name, file, line, message);
    context.failures++;
}

bool ktest_has_option(const char* option) { return boot_info().command_line.has(StringView(option)); }

namespace ktest {
namespace {

// Suites that only run when named: they end the run on purpose (a deliberate
// panic), or are workloads too long for `ktest=all` under TCG
// (pagecache_pressure, pagecache_dev_pressure: a file four times RAM;
// tests/qemu/pagecache_*.py run them with a small guest).
const char* const SUITES_NOT_IN_ALL[] = {"panic",          "panic_double_fault",    "panic_lock_order",
                                         "panic_stack_overflow",
                                         "panic_sleep_in_atomic", "pagecache_pressure", "pagecache_dev_pressure"};

bool excluded_from_all(const char* suite)
{
    for (const char* name : SUITES_NOT_IN_ALL) {
        if (StringView(name) == StringView(suite))
            return true;
    }
    return false;
}

bool selected(StringView selection, const char* suite)
{
    if (selection == StringView("all"))
        return !excluded_from_all(suite);
    StringView rest = selection;
    while (!rest.is_empty()) {
        isize comma = rest.find(',');
        StringView item = comma < 0 ? rest : rest.substring(0, static_cast<usize>(comma));
        if (item == StringView(suite))
            return true;
        rest = comma < 0 ? StringView() : rest.substring(static_cast<usize>(comma) + 1);
    }
    return false;
}

} // namespace

u32 run(const char* selection_chars, usize length)
{
    StringView selection(selection_chars, length);
    u32 passed = 0, failed = 0, skipped = 0;
    log_raw("ktest: running %.*s\n", static_cast<int>(length), selection_chars);
    for (const KtestCase* const* entry = __ktest_start; entry < __ktest_end; entry++) {
        const KtestCase* test = *entry;
        if (!selected(selection, test->suite))
            continue;
        KtestContext context{test->suite, test->name};
        u64 start_ns = clock_ns();
        test->function(context);
        u64 elapsed_us = (clock_ns() - start_ns) / 1000;
        if (context.failures == 0 && context.skipped) {
            skipped++;
            log_raw("ktest: skip %s.%s: %s\n", test->suite, test->name, context.skipped);
        } else if (context.failures == 0) {
            passed++;
            log_raw("ktest: ok   %s.%s (%lu us)\n", test->suite, test->name, elapsed_us);
        } else {
            failed++;
            log_raw("ktest: FAIL %s.%s (%lu us)\n", test->suite, test->name, elapsed_us);
        }
    }
    if (skipped)
        log_raw("ktest: %u skipped (each line above says why)\n", skipped);
    log_raw("ktest: %u passed, %u failed\n", passed, failed);
    return failed;
}

} // namespace ktest

namespace {

// Boot reaches the runner through kernel/debug/SelfTest.h.
[[gnu::used]] const bool g_registered = [] {
    self_test::register_runner(ktest::run);
    return true;
}();

} // namespace
