// ktest suite "lib": the portable library, run on the real kernel once so that
// freestanding code generation (no SSE, kernel code model) is exercised too.
#include "kernel/lib/CommandLine.h"
#include "kernel/lib/Format.h"
#include "kernel/lib/Own.h"
#include "kernel/lib/String.h"
#include "kernel/mm/Heap.h"
#include "tests/ktest/Ktest.h"

KTEST(lib, format_integers)
{
    char buffer[64];
    format_string(buffer, sizeof(buffer), "%d|%5u|%-4x|%08lx|%s", -42, 7u, 0xabu, 0x1234ul, "ok");
    KEXPECT(strcmp(buffer, "-42|    7|ab  |00001234|ok") == 0);
}

KTEST(lib, command_line_options)
{
    static CommandLine line;
    line.parse("smp=4 ktest=all quiet mem=64M");
    KEXPECT_EQ(line.get_u64("smp", 0), 4ul);
    KEXPECT_EQ(line.get_u64("mem", 0), 64ul * MiB);
    KEXPECT(line.has("quiet"));
    KEXPECT(!line.has("loud"));
}

namespace {
struct OwnProbe {
    explicit OwnProbe(int* destroyed) : destroyed(destroyed) { }
    ~OwnProbe() { ++*destroyed; }
    int* destroyed;
    char payload[200];
};
} // namespace

// new (nothrow) reaches kmalloc and Own gives the bytes back on scope exit.
KTEST(lib, own_adopt_and_destroy)
{
    int destroyed = 0;
    u64 heap_before = mm::heap_allocated_bytes();
    {
        auto own = adopt_own_or_enomem(new (nothrow) OwnProbe(&destroyed));
        KASSERT(!own.is_error());
        KEXPECT(mm::heap_allocated_bytes() > heap_before);
    }
    KEXPECT_EQ(destroyed, 1);
    KEXPECT_EQ(mm::heap_allocated_bytes(), heap_before);
}
