// kernel_main: the boot order, from the first C++ instruction to the workload.
#include "arch/x86_64/Cpu.h"
#include "arch/x86_64/PerCpu.h"
#include "arch/x86_64/boot/Multiboot2.h"
#include "arch/x86_64/apic/Apic.h"
#include "arch/x86_64/interrupts/Interrupts.h"
#include "arch/x86_64/smp/Smp.h"
#include "arch/x86_64/time/TscCalibration.h"
#include "arch/x86_64/acpi/Acpi.h"
#include "drivers/pci/Pci.h"
#include "drivers/serial/Uart16550.h"
#include "fs/pagecache/PageCache.h"
#include "fs/vfs/Vfs.h"
#include "kernel/block/Bench.h"
#include "kernel/block/BlockDevice.h"
#include "kernel/block/Worker.h"
#include "kernel/debug/Panic.h"
#include "kernel/debug/SelfTest.h"
#include "kernel/debug/Symbols.h"
#include "arch/x86_64/boot/BootInfo.h"
#include "kernel/init/Demo.h"
#include "kernel/init/Version.h"
#include "kernel/lib/Format.h"
#include "kernel/lib/String.h"
#include "kernel/log/Log.h"
#include "kernel/mm/DirectMap.h"
#include "kernel/mm/PageAllocator.h"
#include "kernel/power/Power.h"
#include "kernel/proc/Lifecycle.h"
#include "kernel/sched/Scheduler.h"
#include "kernel/time/Clock.h"
#include "kernel/time/TimerQueue.h"
#include "kernel/time/WallClock.h"

namespace {

void load_symbols(const BootInfo& info)
{
    const BootModule* module = info.find_module("symbols");
    if (!module) {
        log_warn("boot", "no symbol table module: backtraces will show raw addresses");
        return;
    }
    symbols::init(phys_to_virt<const char>(module->start), module->end - module->start);
}

// init=PATH [-- ARGS...]: PID 1 runs PATH from the initramfs with argv
// [PATH, ARGS...] (Linux passes the words after "--" to init) and the
// environment Linux gives init (HOME=/, TERM=linux). When it exits the kernel
// logs its status and powers off (where Linux would panic).
[[noreturn]] void run_init_process(const CommandLine& command_line)
{
    constexpr usize MAX_ARGS = CommandLine::MAX_OPTIONS + 2;
    static char words[CommandLine::MAX_OPTIONS][CommandLine::MAX_LENGTH / 4];
    static char path[CommandLine::MAX_LENGTH];
    const char* argv[MAX_ARGS] = {};
    StringView init = command_line.get("init");
    usize length = min(init.length(), sizeof path - 1);
    memcpy(path, init.chars(), length);
    path[length] = '\0';
    usize argc = 0;
    argv[argc++] = path;
    bool after_separator = false;
    for (usize i = 0; i < command_line.option_count() && argc < MAX_ARGS - 1; i++) {
        StringView key = command_line.key_at(i);
        StringView value = command_line.value_at(i);
        if (!after_separator) {
            after_separator = key == StringView("--") && value.is_empty();
            continue;
        }
        char* word = words[argc - 1];
        usize n = format_string(word, sizeof words[0], "%.*s%s%.*s", static_cast<int>(key.length()), key.chars(),
                                value.is_empty() ? "" : "=", static_cast<int>(value.length()), value.chars());
        (void)n;
        argv[argc++] = word;
    }
    const char* envp[] = {"HOME=/", "TERM=linux", nullptr};
    proc::init();
    Completion exited;
    Result<void> started = proc::start_init(path, argv, envp, &exited);
    if (started.is_error()) {
        log_error("init", "cannot start %s: errno %d", path, started.error().code());
    } else {
        exited.wait();
    }
    vfs::shutdown();
    power_off();
}

// The init thread: runs once every CPU is in the scheduler, and may sleep.
void init_main()
{
    // clock_ns() counts from the first instruction of kernel_main's caller.
    log_info("boot", "kernel entry to scheduler running on %u CPUs: %lu us", percpu::online_count(), clock_us());
    BootInfo& info = boot_info();
    block::start_worker(); // kblockd: request timeouts
    pagecache::init();     // kreclaimd: needs the scheduler running
    vfs::init();           // root ramfs + initramfs, /dev, /proc, root2= ext2
    if (info.command_line.has("ktest")) {
        StringView selection = info.command_line.get("ktest");
        self_test::Runner run_tests = self_test::runner();
        if (!run_tests)
            log_error("ktest", "this kernel has no test runner");
        u32 failed = run_tests ? run_tests(selection.chars(), selection.length()) : 1;
        vfs::shutdown(); // clean unmount: data written and filesystems marked clean
        test_exit(failed ? TestStatus::Failed : TestStatus::Passed);
    }
    if (info.command_line.has("init"))
        run_init_process(info.command_line);
    if (info.command_line.get("bench") == StringView("blk"))
        block::run_benchmark(info.command_line);
    else
        demo::run_default();
    vfs::shutdown();
    power_off();
}

} // namespace

extern "C" [[noreturn]] void kernel_main(u32 magic, u32 info_phys)
{
    serial::init();
    percpu::init_boot_cpu();
    sched::init();
    BootInfo& info = boot_info();
    if (!multiboot2::parse(magic, info_phys, info))
        panic("not loaded by a Multiboot2 boot loader (magic %#x)", magic);
    log_choose_console(info.command_line.get("log")); // log=ttyS1: the kernel log off ttyS0
    load_symbols(info);
    log_raw("\nSluice %s x86_64 (booted by %s)\n", SLUICE_VERSION, info.boot_loader_name);
    log_info("boot", "command line: %.*s", static_cast<int>(info.command_line.raw().length()),
             info.command_line.raw().chars());

    interrupts::init_boot_cpu();
    tsc::calibrate();
    mm::init(info);
    acpi::init();
    apic::init_boot_cpu();
    timers::init_boot();
    wall_clock::init();       // CLOCK_REALTIME from the CMOS RTC
    x86::enable_interrupts(); // the scheduler tick, kernel timers and IPIs run from here
    pci::enumerate();         // before SMP: BAR sizing remaps MMIO (see drivers/pci/Pci.h)
    smp::init();              // before drivers: they size per-CPU queues by the CPUs online

    mm::PageCounters pages = mm::page_counters();
    log_info("boot", "Sluice %s: %u CPUs online, %lu MiB memory (%lu MiB free), %zu boot modules", SLUICE_VERSION,
             percpu::online_count(), pages.total * PAGE_SIZE / MiB, pages.free * PAGE_SIZE / MiB,
             info.module_count);

    pci::probe_drivers(); // NVMe, virtio-blk, ...; prints the table
    block::print_devices();

    // This context becomes CPU 0's idle thread; the rest runs in init_main.
    sched::start(init_main);
}
