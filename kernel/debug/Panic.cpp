#include "kernel/debug/Panic.h"

#include <stdarg.h>

#include "arch/x86_64/Cpu.h"
#include "arch/x86_64/boot/Layout.h"
#include "kernel/debug/Symbols.h"
#include "kernel/lib/Atomic.h"
#include "kernel/lib/Format.h"
#include "kernel/log/Log.h"

extern "C" char __text_start[], __text_end[];

namespace {

PanicHooks g_hooks;
Atomic<u32> g_panicking{0};
constexpr int MAX_FRAMES = 32;

bool is_kernel_text(u64 address)
{
    return address >= reinterpret_cast<u64>(__text_start) && address < reinterpret_cast<u64>(__text_end);
}

bool is_kernel_address(u64 address) { return address >= DIRECT_MAP_BASE; }

} // namespace

PanicHooks& panic_hooks() { return g_hooks; }

void print_symbolized_address(const char* prefix, u64 address)
{
    symbols::Symbol symbol;
    if (symbols::lookup(address, symbol))
        log_raw("%s0x%016lx %.*s+0x%lx\n", prefix, address, static_cast<int>(symbol.name_length), symbol.name,
                symbol.offset);
    else
        log_raw("%s0x%016lx ?\n", prefix, address);
}

void print_backtrace(u64 frame_pointer, u64 first_address)
{
    log_raw("Backtrace:\n");
    int frame = 0;
    char prefix[16];
    if (first_address) {
        format_string(prefix, sizeof(prefix), "  #%-2d ", frame++);
        print_symbolized_address(prefix, first_address);
    }
    // Frames are [saved rbp][return address], built by -fno-omit-frame-pointer.
    u64 rbp = frame_pointer;
    while (frame < MAX_FRAMES && rbp && is_kernel_address(rbp) && is_aligned<u64>(rbp, 8)) {
        auto* words = reinterpret_cast<u64*>(rbp);
        u64 return_address = words[1];
        if (!is_kernel_text(return_address))
            break;
        format_string(prefix, sizeof(prefix), "  #%-2d ", frame++);
        // Return addresses point after the call; -1 names the calling line.
        print_symbolized_address(prefix, return_address - 1);
        if (words[0] <= rbp)
            break;
        rbp = words[0];
    }
}

bool panic_begin()
{
    x86::disable_interrupts();
    if (g_panicking.exchange(1, MemoryOrder::AcqRel) != 0)
        return false;
    log_enter_panic_mode();
    if (g_hooks.stop_other_cpus)
        g_hooks.stop_other_cpus();
    return true;
}

void panic_finish()
{
    log_raw("---[ end Kernel panic ]---\n");
    if (g_hooks.finish)
        g_hooks.finish();
    x86::halt_forever();
}

void panic(const char* fmt, ...)
{
    if (!panic_begin())
        x86::halt_forever();
    char message[256];
    va_list args;
    va_start(args, fmt);
    format_string_v(message, sizeof(message), fmt, args);
    va_end(args);
    u32 cpu = g_hooks.current_cpu ? g_hooks.current_cpu() : 0;
    log_raw("\nKernel panic on CPU %u: %s\n", cpu, message);
    print_backtrace(reinterpret_cast<u64>(__builtin_frame_address(0)));
    panic_finish();
}
