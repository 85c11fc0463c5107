// procfs at /proc: text files generated when read, in Linux's formats.
//   diskstats  one line per block device (block::format_diskstats_line)
//   meminfo    MemTotal, MemFree, Cached, Dirty, Writeback (kB)
//   mounts     "source target type rw|ro 0 0"
//   interrupts one row per vector and name, one column per CPU (Linux's layout)
#include "fs/procfs/ProcFs.h"

#include "fs/pagecache/Counters.h"
#include "fs/ramfs/RamFs.h"
#include "kernel/block/BlockDevice.h"
#include "kernel/irq/Irq.h"
#include "kernel/lib/Format.h"
#include "kernel/lib/String.h"
#include "kernel/mm/Heap.h"
#include "kernel/mm/PageAllocator.h"
#include "kernel/sched/Scheduler.h"

namespace procfs {

namespace {

// Output buffer for one generated file.
struct Text {
    char* data;
    usize capacity;
    usize length = 0;

    void append(const char* fmt, ...) __attribute__((format(printf, 2, 3)))
    {
        va_list args;
        va_start(args, fmt);
        const usize room = capacity > length ? capacity - length : 0;
        length += format_string_v(data + length, room, fmt, args);
        va_end(args);
        if (length > capacity)
            length = capacity;
    }
};

void generate_diskstats(Text& text)
{
    // Under the registry lock: a device being removed is not freed under us.
    block::for_each_device([](block::BlockDevice& device, void* context) {
        char line[256];
        const usize n = block::format_diskstats_line(
            line, sizeof(line), device.major(), device.minor(), device.name(), device.stats().snapshot());
        static_cast<Text*>(context)->append("%.*s", static_cast<int>(min(n, sizeof(line) - 1)), line);
    }, &text);
}

void generate_meminfo(Text& text)
{
    const mm::PageCounters pages = mm::page_counters();
    const pagecache::Counters cache = pagecache::counters();
    constexpr u64 KB_PER_PAGE = PAGE_SIZE / 1024;
    text.append("MemTotal:       %8lu kB\n", pages.total * KB_PER_PAGE);
    text.append("MemFree:        %8lu kB\n", pages.free * KB_PER_PAGE);
    text.append("Cached:         %8lu kB\n", cache.cached * KB_PER_PAGE);
    text.append("Dirty:          %8lu kB\n", cache.dirty * KB_PER_PAGE);
    text.append("Writeback:      %8lu kB\n", cache.writeback * KB_PER_PAGE);
}

void generate_mounts(Text& text)
{
    vfs::for_each_mount(
        [](const vfs::Mount& mount, void* context) {
            static_cast<Text*>(context)->append(
                "%s %s %s %s 0 0\n", mount.source, mount.path, mount.superblock->type_name,
                mount.superblock->read_only ? "ro" : "rw");
        },
        &text);
}

// Linux's show_interrupts(): a header of CPU columns, then per interrupt its
// number, the count on each CPU, and its name. Sluice binds vectors per CPU
// (one per I/O queue), so a row is a (vector, name) pair.
void generate_interrupts(Text& text)
{
    struct Row {
        u8 vector;
        const char* name;
        u64 cpus; // the CPUs where this vector carries this name
    };
    constexpr usize MAX_ROWS = 128;
    struct Rows {
        Row rows[MAX_ROWS];
        usize count = 0;
    };
    auto* rows = new Rows;
    if (!rows)
        return;
    irq::for_each_named_vector(
        [](u32 cpu, u8 vector, const char* name, u64, void* arg) {
            auto& r = *static_cast<Rows*>(arg);
            const u64 bit = cpu < 64 ? 1ul << cpu : 0;
            for (usize i = 0; i < r.count; i++) {
                if (r.rows[i].vector == vector && strcmp(r.rows[i].name, name) == 0) {
                    r.rows[i].cpus |= bit;
                    return;
                }
            }
            if (r.count < MAX_ROWS)
                r.rows[r.count++] = { vector, name, bit };
        },
        rows);
    const u32 cpus = sched::cpu_count();
    text.append("     ");
    for (u32 cpu = 0; cpu < cpus; cpu++)
        text.append("       CPU%-3u", cpu);
    text.append("\n");
    for (usize i = 0; i < rows->count; i++) {
        text.append("%4u: ", rows->rows[i].vector);
        for (u32 cpu = 0; cpu < cpus; cpu++) {
            const bool here = cpu < 64 && (rows->rows[i].cpus & (1ul << cpu));
            text.append("%13lu ", here ? irq::count(cpu, rows->rows[i].vector) : 0ul);
        }
        text.append("  %s\n", rows->rows[i].name);
    }
    delete rows;
}

class GeneratedInode final : public vfs::Inode {
public:
    using Generator = void (*)(Text&);
    GeneratedInode(vfs::SuperBlock& superblock_, u64 number_, Generator generator)
        : Inode(superblock_, number_, S_IFREG | 0444)
        , m_generator(generator)
    {
    }
    Result<usize> read(vfs::File&, u64 offset, mm::IoIter& buffer, u32) override
    {
        const usize length = buffer.count();
        constexpr usize CAPACITY = 16 * KiB;
        Text text{ static_cast<char*>(kmalloc(CAPACITY)), CAPACITY };
        if (!text.data)
            return Error::from_errno(ENOMEM);
        m_generator(text);
        usize n = 0;
        int error = 0;
        if (offset < text.length) {
            n = min<usize>(length, text.length - offset);
            n = buffer.copy_to(text.data + offset, n);
            if (n == 0)
                error = EFAULT;
        }
        kfree(text.data);
        if (error)
            return Error::from_errno(error);
        return n;
    }
    Result<usize> write(vfs::File&, u64, mm::IoIter&) override { return Error::from_errno(EACCES); }
    Result<void> truncate(u64) override { return Error::from_errno(EACCES); }
    Result<void> fsync(bool) override { return {}; }

private:
    Generator m_generator;
};

Result<vfs::SuperBlock*> mount_procfs(StringView, u32, char*, usize)
{
    vfs::SuperBlock* superblock = TRY(ramfs::make_superblock("proc"));
    auto* root = static_cast<ramfs::RamInode*>(superblock->root);
    struct File {
        const char* name;
        GeneratedInode::Generator generator;
    };
    static const File FILES[] = {
        { "diskstats", generate_diskstats },
        { "meminfo", generate_meminfo },
        { "mounts", generate_mounts },
        { "interrupts", generate_interrupts },
    };
    u64 number = 2;
    for (const File& file : FILES) {
        auto* inode = new GeneratedInode(*superblock, number++, file.generator);
        if (!inode)
            return Error::from_errno(ENOMEM);
        TRY(root->attach(StringView(file.name), inode));
    }
    return superblock;
}

const vfs::FileSystemType g_procfs_type = { "proc", mount_procfs };

} // namespace

void register_filesystem() { vfs::register_filesystem(g_procfs_type); }

} // namespace procfs
