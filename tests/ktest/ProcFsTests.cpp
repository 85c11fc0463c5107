// ktest suite "procfs": the contents of /proc, parsed as tools parse them.
// Device-specific checks (MSI-X queue names, diskstats lines, Cached growth
// after a buffered read) run when the devices are attached
// (tests/qemu/pagecache_dev.py, ext2_rw.py); the ro check when root2.ro is
// given (ext2_rw.py, read part on virtio).
#include "fs/vfs/FileApi.h"
#include "kernel/block/BlockDevice.h"
#include "arch/x86_64/boot/BootInfo.h"
#include "kernel/lib/Format.h"
#include "kernel/lib/String.h"
#include "kernel/log/Log.h"
#include "kernel/mm/Heap.h"
#include "kernel/mm/PageAllocator.h"
#include "kernel/sched/Scheduler.h"
#include "tests/ktest/Ktest.h"

namespace {

constexpr usize PROC_CAPACITY = 16 * KiB;

// The whole file, NUL-terminated (kfree it).
char* read_proc(StringView path)
{
    auto file = vfs::open(path, O_RDONLY);
    if (file.is_error())
        return nullptr;
    auto* text = static_cast<char*>(kmalloc(PROC_CAPACITY));
    if (!text) {
        (void)vfs::close(file.value());
        return nullptr;
    }
    auto n = vfs::read(*file.value(), text, PROC_CAPACITY - 1);
    text[n.is_error() ? 0 : n.value()] = 0;
    (void)vfs::close(file.value());
    return text;
}

// Iterate over the lines of `text` (modifies nothing; views into it).
template <typename Fn>
void for_each_line(const char* text, Fn&& fn)
{
    const char* at = text;
    while (*at) {
        const char* end = at;
        while (*end && *end != '\n')
            end++;
        fn(StringView(at, static_cast<usize>(end - at)));
        at = *end ? end + 1 : end;
    }
}

// Whitespace-separated fields of a line.
usize split_fields(StringView line, StringView* fields, usize capacity)
{
    usize count = 0;
    usize i = 0;
    while (i < line.length()) {
        while (i < line.length() && line[i] == ' ')
            i++;
        const usize start = i;
        while (i < line.length() && line[i] != ' ')
            i++;
        if (i > start) {
            if (count < capacity)
                fields[count] = line.substring(start, i - start);
            count++;
        }
    }
    return count;
}

bool is_number(StringView s)
{
    if (s.length() == 0)
        return false;
    for (usize i = 0; i < s.length(); i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
    }
    return true;
}

u64 to_number(StringView s)
{
    u64 value = 0;
    for (usize i = 0; i < s.length(); i++)
        value = value * 10 + static_cast<u64>(s[i] - '0');
    return value;
}

struct MemInfo {
    u64 total_kb = 0, free_kb = 0, cached_kb = 0, dirty_kb = 0, writeback_kb = 0;
    u32 seen = 0; // bit per field found
};

MemInfo read_meminfo()
{
    MemInfo info;
    char* text = read_proc("/proc/meminfo");
    if (!text)
        return info;
    for_each_line(text, [&](StringView line) {
        StringView fields[4];
        if (split_fields(line, fields, 4) != 3 || fields[2] != StringView("kB") || !is_number(fields[1]))
            return;
        const u64 value = to_number(fields[1]);
        struct Field {
            const char* name;
            u64* value;
        };
        const Field known[] = { { "MemTotal:", &info.total_kb }, { "MemFree:", &info.free_kb },
            { "Cached:", &info.cached_kb }, { "Dirty:", &info.dirty_kb }, { "Writeback:", &info.writeback_kb } };
        for (usize i = 0; i < ARRAY_SIZE(known); i++) {
            if (fields[0] == StringView(known[i].name)) {
                *known[i].value = value;
                info.seen |= 1u << i;
            }
        }
    });
    kfree(text);
    return info;
}

} // namespace

KTEST(procfs, meminfo_has_plausible_values)
{
    const MemInfo info = read_meminfo();
    KEXPECT_EQ(info.seen, 0x1fu); // all five fields, "Name: <number> kB"
    const mm::PageCounters pages = mm::page_counters();
    KEXPECT_EQ(info.total_kb, pages.total * (PAGE_SIZE / 1024));
    KEXPECT(info.total_kb >= 16 * 1024); // the guests have 128 MiB or more
    KEXPECT(info.free_kb > 0 && info.free_kb <= info.total_kb);
    KEXPECT(info.cached_kb <= info.total_kb);
    KEXPECT(info.dirty_kb <= info.cached_kb);
    KEXPECT(info.writeback_kb <= info.cached_kb);
}

KTEST(procfs, cached_grows_after_a_buffered_read)
{
    // A range of a block device that nothing else has read: 8 MiB at 40 MiB.
    static const char* const DEVICES[] = { "nvme0n1", "vda" };
    const char* name = nullptr;
    for (const char* candidate : DEVICES) {
        block::BlockDevice* device = block::find_device(StringView(candidate));
        if (device && device->capacity_bytes() >= 48 * MiB) {
            name = candidate;
            break;
        }
    }
    if (!name)
        return;
    char path[32];
    format_string(path, sizeof(path), "/dev/%s", name);
    auto file = vfs::open(StringView(path), O_RDONLY);
    KASSERT(!file.is_error());
    KEXPECT(!vfs::drop_cache(*file.value()).is_error());
    const MemInfo before = read_meminfo();
    constexpr u64 OFFSET = 40 * MiB, LENGTH = 8 * MiB;
    auto* buffer = static_cast<u8*>(kmalloc(64 * KiB));
    KASSERT(buffer);
    for (u64 at = OFFSET; at < OFFSET + LENGTH; at += 64 * KiB)
        KEXPECT_EQ(vfs::pread(*file.value(), buffer, 64 * KiB, at).value(), 64 * KiB);
    const MemInfo after = read_meminfo();
    log_raw("procfs: %s buffered read of %lu KiB: Cached %lu -> %lu kB\n", path, LENGTH / KiB, before.cached_kb,
        after.cached_kb);
    KEXPECT(after.cached_kb >= before.cached_kb + LENGTH / KiB / 2); // reclaim may take a little back
    KEXPECT(after.free_kb < before.free_kb);
    kfree(buffer);
    (void)vfs::close(file.value());
}

KTEST(procfs, diskstats_lines_have_linux_field_count)
{
    char* text = read_proc("/proc/diskstats");
    KASSERT(text);
    usize lines = 0;
    for_each_line(text, [&](StringView line) {
        // Linux >= 5.5 block/genhd.c diskstats_show(): major, minor, name
        // and 17 counters (reads, writes, in flight/ticks, discards, flushes).
        StringView fields[24];
        const usize count = split_fields(line, fields, 24);
        KEXPECT_EQ(count, 20u);
        for (usize i = 0; i < count && i < 24; i++) {
            if (i != 2)
                KEXPECT(is_number(fields[i]));
        }
        if (count > 2)
            KEXPECT(block::find_device(fields[2]) != nullptr);
        lines++;
    });
    KEXPECT_EQ(lines, block::device_count());
    kfree(text);
}

KTEST(procfs, interrupts_have_cpu_columns_and_queue_names)
{
    char* text = read_proc("/proc/interrupts");
    KASSERT(text);
    const u32 cpus = sched::cpu_count();
    bool header = true;
    bool nvme_queue = false, virtio_queue = false;
    u64 nvme_total = 0, virtio_total = 0;
    for_each_line(text, [&](StringView line) {
        StringView fields[72];
        const usize count = split_fields(line, fields, 72);
        if (header) {
            // "CPU0 CPU1 ..." and nothing else.
            KEXPECT_EQ(count, static_cast<usize>(cpus));
            for (usize i = 0; i < count && i < 72; i++) {
                char expected[12];
                format_string(expected, sizeof(expected), "CPU%zu", i);
                KEXPECT(fields[i] == StringView(expected));
            }
            header = false;
            return;
        }
        // "<vector>: <count per CPU> <name>"
        KEXPECT_EQ(count, static_cast<usize>(cpus) + 2);
        if (count != cpus + 2u || count > 72)
            return;
        KEXPECT(fields[0].length() >= 2 && fields[0][fields[0].length() - 1] == ':');
        KEXPECT(is_number(fields[0].substring(0, fields[0].length() - 1)));
        u64 sum = 0;
        for (usize i = 1; i <= cpus; i++) {
            KEXPECT(is_number(fields[i]));
            sum += to_number(fields[i]);
        }
        const StringView name = fields[cpus + 1];
        if (name.starts_with("nvme0q") && name != StringView("nvme0q0")) {
            nvme_queue = true;
            nvme_total += sum;
        }
        if (name.starts_with("virtio0-req.")) {
            virtio_queue = true;
            virtio_total += sum;
        }
    });
    if (block::find_device("nvme0n1")) {
        KEXPECT(nvme_queue); // nvme0q1...: one MSI-X vector per I/O queue
        KEXPECT(nvme_total > 0);
    }
    if (block::find_device("vda")) {
        KEXPECT(virtio_queue); // virtio0-req.0...
        KEXPECT(virtio_total > 0);
    }
    log_raw("procfs: interrupts cpus=%u nvme_queues=%d virtio_queues=%d\n", cpus, nvme_queue, virtio_queue);
    kfree(text);
}

KTEST(procfs, mounts_say_ro_for_a_read_only_mount)
{
    char* text = read_proc("/proc/mounts");
    KASSERT(text);
    const bool read_only = boot_info().command_line.has("root2.ro");
    bool root = false, root2 = false;
    for_each_line(text, [&](StringView line) {
        StringView fields[8];
        KEXPECT_EQ(split_fields(line, fields, 8), 6u); // source target type options 0 0
        if (fields[1] == StringView("/")) {
            root = true;
            KEXPECT(fields[3] == StringView("rw"));
        }
        if (fields[1] == StringView("/mnt") && fields[2] == StringView("ext2")) {
            root2 = true;
            KEXPECT(fields[3] == StringView(read_only ? "ro" : "rw"));
            log_raw("procfs: mounts %.*s\n", static_cast<int>(line.length()), line.chars());
        }
    });
    KEXPECT(root);
    KEXPECT_EQ(root2, boot_info().command_line.has("root2"));
    kfree(text);
}
