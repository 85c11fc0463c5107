// In-kernel tests. A test is a function registered with KTEST(suite, name); it
// runs on the real kernel after boot when the command line says
// `ktest=all` or `ktest=suite1,suite2`. Each test prints one line; the run ends
// with "N passed, N failed" and QEMU exits with the matching status.
//
//   KTEST(waitqueue, exclusive_wake_wakes_one)
//   {
//       ...
//       KEXPECT_EQ(woken, 1u);
//   }
#pragma once

#include "kernel/lib/Types.h"

struct KtestContext {
    const char* suite;
    const char* name;
    u32 failures = 0;
    const char* skipped = nullptr; // why the test did not run (KTEST_SKIP)
};

struct KtestCase {
    const char* suite;
    const char* name;
    void (*function)(KtestContext&);
};

void ktest_fail(KtestContext& context, const char* file, int line, const char* fmt, ...)
    __attribute__((format(printf, 4, 5)));

namespace ktest {
// Runs the suites selected by `selection` ("all" or a comma list). Returns the
// number of failed tests. Prints the summary line.
u32 run(const char* selection, usize length);
} // namespace ktest

#define KTEST(suite, name)                                                                         \
    static void ktest_##suite##_##name(KtestContext&);                                             \
    static const KtestCase ktest_case_##suite##_##name = {#suite, #name, ktest_##suite##_##name};  \
    [[gnu::section(".ktest"), gnu::used]] static const KtestCase* const ktest_entry_##suite##_##name = \
        &ktest_case_##suite##_##name;                                                              \
    static void ktest_##suite##_##name([[maybe_unused]] KtestContext& ktest_context)

#define KEXPECT(cond)                                                                              \
    do {                                                                                           \
        if (!(cond))                                                                               \
            ktest_fail(ktest_context, __FILE__, __LINE__, "expected %s", #cond);                   \
    } while (0)

#define KEXPECT_EQ(a, b)                                                                           \
    do {                                                                                           \
        auto _ka = (a);                                                                            \
        auto _kb = (b);                                                                            \
        if (!(_ka == _kb))                                                                         \
            ktest_fail(ktest_context, __FILE__, __LINE__, "expected %s == %s (%ld vs %ld)", #a, #b, \
                       static_cast<long>(_ka), static_cast<long>(_kb));                            \
    } while (0)

// End the test as skipped, with the reason printed: for tests that need
// something only their scenario arranges (a prepared disk image, a fault
// injection option), so that `ktest=all` passes on any machine.
#define KTEST_SKIP(reason)                                                                         \
    do {                                                                                           \
        ktest_context.skipped = (reason);                                                          \
        return;                                                                                    \
    } while (0)

// Skip unless the kernel command line has `option` (which the test's scenario passes).
#define KTEST_REQUIRE_OPTION(option, what)                                                         \
    do {                                                                                           \
        if (!ktest_has_option(option))                                                             \
            KTEST_SKIP("needs " what " (command line option " option ")");                        \
    } while (0)

bool ktest_has_option(const char* option);

// Stop the test at the first failed requirement.
#define KASSERT(cond)                                                                              \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            ktest_fail(ktest_context, __FILE__, __LINE__, "required %s", #cond);                   \
            return;                                                                                \
        }                                                                                          \
    } while (0)
