// ktest suites over an ext2 filesystem mounted from the command line
// (root2=/dev/vda, at /mnt), driven by tests/qemu/ext2_rw.py. Without a
// root2= option they pass vacuously.
//
//   ext2_read   readahead behaviour on /mnt/big (diskstats before/after),
//               then every file under /mnt: prints
//               "ext2_read: file <path> <size> <fnv1a64>" and
//               "ext2_read: symlink <path> <target>" for the host to compare
//   ext2_fsync  (with ext2.kill_after_fsync) fsyncs /mnt/durable, prints
//               "ext2_fsync: durable ..." and sleeps until the host kills QEMU
//   ext2_write  creates, writes, appends, truncates, renames and deletes
//               files and directories under /mnt/w, then prints what each
//               remaining file must contain ("ext2_write: file <path> <size>
//               <fnv1a64>"); the host checks the image with e2fsck -fn and
//               reads every file back with debugfs
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

constexpr u64 FNV_OFFSET = 0xcbf29ce484222325ul;
constexpr u64 FNV_PRIME = 0x100000001b3ul;

u64 fnv1a(u64 hash, const u8* data, usize length)
{
    for (usize i = 0; i < length; i++)
        hash = (hash ^ data[i]) * FNV_PRIME;
    return hash;
}

bool have_root2() { return boot_info().command_line.has("root2"); }

block::BlockDevice* root2_device()
{
    StringView name = boot_info().command_line.get("root2");
    if (name.starts_with("/dev/"))
        name = name.substring(5);
    return block::find_device(name);
}

// Hash a whole file through read() in `chunk`-byte calls.
Result<u64> hash_file(StringView path, u64& size, usize chunk)
{
    vfs::File* file = TRY(vfs::open(path, O_RDONLY));
    auto* buffer = static_cast<u8*>(kmalloc(64 * KiB));
    if (!buffer) {
        (void)vfs::close(file);
        return Error::from_errno(ENOMEM);
    }
    u64 hash = FNV_OFFSET;
    size = 0;
    int error = 0;
    for (;;) {
        auto n = vfs::read(*file, buffer, min<usize>(chunk, 64 * KiB));
        if (n.is_error()) {
            error = n.error().code();
            break;
        }
        if (n.value() == 0)
            break;
        hash = fnv1a(hash, buffer, n.value());
        size += n.value();
    }
    kfree(buffer);
    (void)vfs::close(file);
    if (error)
        return Error::from_errno(error);
    return hash;
}

// The prefix of the lines walk() prints ("ext2_read", "initramfs").
const char* g_walk_prefix = "ext2_read";

struct WalkStats {
    u32 files = 0;
    u32 directories = 0;
    u32 symlinks = 0;
    u32 errors = 0;
};

void walk(char* path, usize length, WalkStats& stats, u32 depth)
{
    auto directory = vfs::open(StringView(path, length), O_RDONLY | O_DIRECTORY);
    if (directory.is_error()) {
        log_raw("%s: error open %.*s %d\n", g_walk_prefix, static_cast<int>(length), path,
            directory.error().code());
        stats.errors++;
        return;
    }
    stats.directories++;
    // Kernel stacks are 16 KiB and the tree is deep: per-level scratch on the heap.
    struct Scratch {
        vfs::DirEntry entry;
        char target[512];
    };
    auto* scratch = new Scratch;
    if (!scratch) {
        stats.errors++;
        (void)vfs::close(directory.value());
        return;
    }
    vfs::DirEntry& entry = scratch->entry;
    for (;;) {
        auto more = vfs::readdir(*directory.value(), entry);
        if (more.is_error()) {
            stats.errors++;
            break;
        }
        if (!more.value())
            break;
        const StringView name(entry.name, entry.name_length);
        if (name == StringView(".") || name == StringView("..") || name == StringView("lost+found"))
            continue;
        if (length + 1 + entry.name_length >= 1024)
            continue;
        path[length] = '/';
        memcpy(path + length + 1, entry.name, entry.name_length);
        const usize child_length = length + 1 + entry.name_length;
        const StringView child(path, child_length);
        if (entry.type == DT_DIR) {
            if (depth < 64)
                walk(path, child_length, stats, depth + 1);
        } else if (entry.type == DT_LNK) {
            char* target = scratch->target;
            auto n = vfs::readlink(child, target, sizeof(scratch->target));
            if (n.is_error()) {
                stats.errors++;
            } else {
                log_raw("%s: symlink %.*s %.*s\n", g_walk_prefix, static_cast<int>(child_length), path,
                    static_cast<int>(n.value()), target);
                stats.symlinks++;
            }
        } else if (entry.type == DT_REG) {
            u64 size = 0;
            auto hash = hash_file(child, size, 48 * KiB + 5);
            if (hash.is_error()) {
                log_raw("%s: error read %.*s %d\n", g_walk_prefix, static_cast<int>(child_length), path,
                    hash.error().code());
                stats.errors++;
            } else {
                log_raw("%s: file %.*s %lu %016lx\n", g_walk_prefix, static_cast<int>(child_length), path,
                    size, hash.value());
                stats.files++;
            }
        }
        path[length] = 0;
    }
    delete scratch;
    (void)vfs::close(directory.value());
}

} // namespace

KTEST(ext2_read, readahead_issues_few_large_requests)
{
    if (!have_root2())
        return;
    block::BlockDevice* device = root2_device();
    KASSERT(device);
    vfs::Stat st;
    if (vfs::stat("/mnt/big", st).is_error())
        return; // the scenario did not make one
    {
        // Start cold, whatever ran before.
        auto file = vfs::open("/mnt/big", O_RDONLY);
        KASSERT(!file.is_error());
        KEXPECT(!vfs::drop_cache(*file.value()).is_error());
        (void)vfs::close(file.value());
    }
    const auto before = device->stats().snapshot();
    u64 size = 0;
    auto first = hash_file("/mnt/big", size, 4096); // 4 KiB reads, like a naive reader
    KASSERT(!first.is_error());
    const auto middle = device->stats().snapshot();
    auto second = hash_file("/mnt/big", size, 4096);
    KASSERT(!second.is_error());
    const auto after = device->stats().snapshot();
    const u64 pages = size / PAGE_SIZE;
    const u64 cold_ios = middle.ios[0] - before.ios[0];
    const u64 cold_sectors = middle.sectors[0] - before.sectors[0];
    const u64 warm_ios = after.ios[0] - middle.ios[0];
    log_raw("ext2_read: readahead pages=%lu cold_ios=%lu cold_sectors=%lu warm_ios=%lu\n", pages, cold_ios,
        cold_sectors, warm_ios);
    KEXPECT_EQ(first.value(), second.value());
    KEXPECT(cold_sectors >= pages * (PAGE_SIZE / 512)); // every page came from the disk once...
    KEXPECT(cold_ios * 8 <= pages); // ...in requests of 8+ pages on average
    KEXPECT_EQ(warm_ios, 0u); // cached: no device reads at all
}

KTEST(ext2_read, every_file_matches)
{
    if (!have_root2())
        return;
    g_walk_prefix = "ext2_read";
    char path[1024] = "/mnt";
    WalkStats stats;
    walk(path, 4, stats, 0);
    log_raw("ext2_read: done files=%u directories=%u symlinks=%u errors=%u\n", stats.files, stats.directories,
        stats.symlinks, stats.errors);
    KEXPECT(stats.files > 0);
    KEXPECT_EQ(stats.errors, 0u);
}

// The initramfs (a cpio archive the scenario passes as a Multiboot2 module)
// unpacked into the root ramfs: every file under /initramfs-test, hashed.
KTEST(initramfs, every_file_matches)
{
    vfs::Stat st;
    if (vfs::stat("/initramfs-test", st).is_error())
        return; // booted without the scenario's archive
    g_walk_prefix = "initramfs";
    char path[1024] = "/initramfs-test";
    WalkStats stats;
    walk(path, 15, stats, 0);
    log_raw("initramfs: done files=%u directories=%u symlinks=%u errors=%u\n", stats.files, stats.directories,
        stats.symlinks, stats.errors);
    KEXPECT(stats.files > 0);
    KEXPECT_EQ(stats.errors, 0u);
}

namespace {

// The content every test file has at offset `o`: a function of its seed.
u8 content_byte(u32 seed, u64 offset)
{
    return static_cast<u8>((offset * 2654435761ul) ^ (seed * 40503ul) ^ (offset >> 9));
}

struct ModelFile {
    char path[96];
    u32 seed;
    u64 size;
    u64 hole_start; // bytes [hole_start, hole_end) are zero (a truncate that grew the file)
    u64 hole_end;
    bool live;
};

constexpr usize MAX_MODEL_FILES = 4096;

struct Model {
    ModelFile files[MAX_MODEL_FILES];
    usize count = 0;

    ModelFile* find(StringView path)
    {
        for (usize i = 0; i < count; i++) {
            if (files[i].live && StringView(files[i].path) == path)
                return &files[i];
        }
        return nullptr;
    }
};

u64 model_hash(const ModelFile& file)
{
    u64 hash = FNV_OFFSET;
    u8 chunk[512];
    for (u64 at = 0; at < file.size;) {
        const usize n = static_cast<usize>(min<u64>(sizeof(chunk), file.size - at));
        for (usize i = 0; i < n; i++) {
            const u64 o = at + i;
            chunk[i] = (o >= file.hole_start && o < file.hole_end) ? 0 : content_byte(file.seed, o);
        }
        hash = fnv1a(hash, chunk, n);
        at += n;
    }
    return hash;
}

// The first offset where the file differs from its model (-1: none), for the log.
i64 first_difference(const ModelFile& f, u8* buffer, usize buffer_size)
{
    auto file = vfs::open(StringView(f.path), O_RDONLY);
    if (file.is_error())
        return -2;
    i64 result = -1;
    for (u64 at = 0; at < f.size && result < 0;) {
        auto n = vfs::pread(*file.value(), buffer, buffer_size, at);
        if (n.is_error() || n.value() == 0)
            break;
        for (usize i = 0; i < n.value(); i++) {
            const u64 o = at + i;
            const u8 want = (o >= f.hole_start && o < f.hole_end) ? 0 : content_byte(f.seed, o);
            if (buffer[i] != want) {
                log_raw("ext2_write:   at %lu: %02x, expected %02x (hole %lu..%lu)\n", o, buffer[i], want,
                    f.hole_start, f.hole_end);
                result = static_cast<i64>(o);
                break;
            }
        }
        at += n.value();
    }
    (void)vfs::close(file.value());
    return result;
}

// Write bytes [from, to) of the file's content at their offsets.
Result<void> write_content(vfs::File& file, u32 seed, u64 from, u64 to, u8* buffer, usize buffer_size)
{
    for (u64 at = from; at < to;) {
        const usize n = static_cast<usize>(min<u64>(buffer_size - (at % 7), to - at)); // uneven chunks
        for (usize i = 0; i < n; i++)
            buffer[i] = content_byte(seed, at + i);
        const usize written = TRY(vfs::pwrite(file, buffer, n, at));
        if (written != n)
            return Error::from_errno(EIO);
        at += n;
    }
    return {};
}

} // namespace

KTEST(ext2_write, create_change_and_report)
{
    if (!have_root2())
        return;
    auto* model = new Model;
    auto* buffer = static_cast<u8*>(kmalloc(64 * KiB));
    KASSERT(model && buffer);
    KASSERT(!vfs::mkdir("/mnt/w").is_error());
    static const char* const DIRECTORIES[] = { "/mnt/w/a", "/mnt/w/b", "/mnt/w/a/deep", "/mnt/w/a/deep/er" };
    for (const char* directory : DIRECTORIES)
        KASSERT(!vfs::mkdir(StringView(directory)).is_error());

    // Files of every interesting size, spread over the directories.
    static const u64 SIZES[] = { 0, 1, 511, 512, 1023, 1024, 4095, 4096, 4097, 12 * 1024, 13 * 1024 + 1,
        70000, 300000, 1100000, 2500000 };
    u32 failures = 0;
    const usize file_count = boot_info().command_line.get_u64("ext2.files", 600);
    for (usize i = 0; i < file_count && i < MAX_MODEL_FILES; i++) {
        ModelFile& f = model->files[model->count++];
        format_string(f.path, sizeof(f.path), "%s/file-%zu", DIRECTORIES[i % ARRAY_SIZE(DIRECTORIES)], i);
        f.seed = static_cast<u32>(i * 7 + 1);
        // Mostly small files; every 16th from the size list (the big ones).
        f.size = (i % 16 == 0) ? SIZES[(i / 16) % ARRAY_SIZE(SIZES)] : (i * 977) % 9000;
        f.hole_start = f.hole_end = 0;
        f.live = true;
        auto file = vfs::open(StringView(f.path), O_WRONLY | O_CREAT | O_EXCL, 0644);
        if (file.is_error()) {
            failures++;
            continue;
        }
        if (write_content(*file.value(), f.seed, 0, f.size, buffer, 64 * KiB).is_error())
            failures++;
        (void)vfs::close(file.value());
    }
    KEXPECT_EQ(failures, 0u);

    // Appends (O_APPEND), shrinking and growing truncates, renames, deletes.
    for (usize i = 1; i < model->count; i += 5) {
        ModelFile& f = model->files[i];
        auto file = vfs::open(StringView(f.path), O_WRONLY | O_APPEND);
        KASSERT(!file.is_error());
        const u64 more = 1000 + (i * 131) % 20000;
        for (usize k = 0; k < more; k++)
            buffer[k] = content_byte(f.seed, f.size + k);
        KEXPECT_EQ(vfs::write(*file.value(), buffer, more).value(), more);
        f.size += more;
        (void)vfs::close(file.value());
    }
    for (usize i = 2; i < model->count; i += 9) {
        ModelFile& f = model->files[i];
        const u64 new_size = f.size / 3;
        KEXPECT(!vfs::truncate(StringView(f.path), new_size).is_error());
        f.size = new_size;
    }
    for (usize i = 3; i < model->count; i += 50) {
        // Grow with a hole, then write past it.
        ModelFile& f = model->files[i];
        const u64 hole_end = f.size + 200000;
        KEXPECT(!vfs::truncate(StringView(f.path), hole_end).is_error());
        auto file = vfs::open(StringView(f.path), O_WRONLY);
        KASSERT(!file.is_error());
        KEXPECT(
            !write_content(*file.value(), f.seed, hole_end, hole_end + 5000, buffer, 64 * KiB).is_error());
        (void)vfs::close(file.value());
        f.hole_start = f.size;
        f.hole_end = hole_end;
        f.size = hole_end + 5000;
    }
    for (usize i = 4; i < model->count; i += 7) {
        ModelFile& f = model->files[i];
        char new_path[96];
        format_string(new_path, sizeof(new_path), "/mnt/w/b/renamed-%zu", i);
        KEXPECT(!vfs::rename(StringView(f.path), StringView(new_path)).is_error());
        memcpy(f.path, new_path, sizeof(new_path));
    }
    // Rename over an existing file: the target's old content goes.
    for (usize i = 5; i + 1 < model->count; i += 40) {
        ModelFile& from = model->files[i];
        ModelFile& to = model->files[i + 1];
        if (!from.live || !to.live)
            continue;
        KEXPECT(!vfs::rename(StringView(from.path), StringView(to.path)).is_error());
        memcpy(from.path, to.path, sizeof(to.path));
        to.live = false;
    }
    for (usize i = 6; i < model->count; i += 4) {
        ModelFile& f = model->files[i];
        if (!f.live)
            continue;
        KEXPECT(!vfs::unlink(StringView(f.path)).is_error());
        f.live = false;
    }
    // A directory made and removed, one moved, and symlinks.
    KEXPECT(!vfs::mkdir("/mnt/w/gone").is_error());
    KEXPECT(!vfs::rmdir("/mnt/w/gone").is_error());
    KEXPECT(!vfs::rename("/mnt/w/a/deep/er", "/mnt/w/b/er-moved").is_error());
    for (usize i = 0; i < model->count; i++) {
        ModelFile& f = model->files[i];
        if (f.live && StringView(f.path).starts_with("/mnt/w/a/deep/er/")) {
            char new_path[96];
            format_string(new_path, sizeof(new_path), "/mnt/w/b/er-moved/%s", f.path + 17);
            memcpy(f.path, new_path, sizeof(new_path));
        }
    }
    KEXPECT(!vfs::symlink("../a/file-0", "/mnt/w/b/short-link").is_error());
    KEXPECT(!vfs::symlink(
        "/mnt/w/a/a-rather-long-symlink-target-that-does-not-fit-in-the-inode/and-more-components/x",
        "/mnt/w/b/long-link")
                 .is_error());

    // fsync one file (data + metadata + device flush).
    for (usize i = 0; i < model->count; i++) {
        if (model->files[i].live && model->files[i].size > 100000) {
            auto file = vfs::open(StringView(model->files[i].path), O_RDWR);
            KASSERT(!file.is_error());
            KEXPECT(!vfs::fsync(*file.value()).is_error());
            (void)vfs::close(file.value());
            break;
        }
    }

    // Read everything back through the cache, then report the expectations.
    u32 mismatches = 0;
    u32 live = 0;
    for (usize i = 0; i < model->count; i++) {
        const ModelFile& f = model->files[i];
        if (!f.live)
            continue;
        live++;
        const u64 expected = model_hash(f);
        u64 size = 0;
        auto hash = hash_file(StringView(f.path), size, 32 * KiB);
        if (hash.is_error() || hash.value() != expected || size != f.size) {
            mismatches++;
            log_raw("ext2_write: mismatch %s (size %lu vs %lu) first difference at %ld\n", f.path, size, f.size,
                first_difference(f, buffer, 64 * KiB));
        }
        log_raw("ext2_write: file %s %lu %016lx\n", f.path + 4, f.size, expected); // path inside the fs
    }
    log_raw("ext2_write: done files=%u\n", live);
    KEXPECT_EQ(mismatches, 0u);
    KEXPECT(!vfs::sync_all().is_error());
    kfree(buffer);
    delete model;
}

// fsync durability: write a file, fsync it, print a marker; the host kills
// QEMU on the marker and finds the data in the image. After the marker the
// guest only sleeps, so the image is exactly what fsync left.
KTEST(ext2_fsync, data_survives_a_kill_after_fsync)
{
    // Never returns: only when the scenario that kills QEMU asks for it.
    if (!have_root2() || !boot_info().command_line.has("ext2.kill_after_fsync"))
        return;
    auto* buffer = static_cast<u8*>(kmalloc(64 * KiB));
    KASSERT(buffer);
    auto file = vfs::open("/mnt/durable", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    KASSERT(!file.is_error());
    constexpr u64 SIZE = 1 * MiB + 4321;
    KASSERT(!write_content(*file.value(), 77, 0, SIZE, buffer, 64 * KiB).is_error());
    KASSERT(!vfs::fsync(*file.value()).is_error());
    ModelFile f{};
    f.seed = 77;
    f.size = SIZE;
    log_raw("ext2_fsync: durable /durable %lu %016lx\n", SIZE, model_hash(f));
    // Keep dirtying other data without syncing: it may or may not reach the disk.
    auto other = vfs::open("/mnt/not-synced", O_WRONLY | O_CREAT, 0644);
    KASSERT(!other.is_error());
    for (;;) {
        (void)vfs::write(*other.value(), buffer, 4096);
        sched::sleep_for(50'000'000);
    }
}

// O_DIRECT on an ext2 file: alignment rules and coherence with the cache.
KTEST(ext2_write, direct_io_alignment_and_coherence)
{
    if (!have_root2())
        return;
    auto* buffer = static_cast<u8*>(mm::page_address(mm::alloc_pages(4)));
    KASSERT(buffer);
    constexpr usize LENGTH = 64 * KiB;
    for (usize i = 0; i < LENGTH; i++)
        buffer[i] = content_byte(99, i);
    auto direct = vfs::open("/mnt/direct", O_RDWR | O_CREAT | O_DIRECT, 0644);
    KASSERT(!direct.is_error());
    // Misaligned buffer, offset, length: EINVAL, as Linux.
    auto bad_buffer = vfs::pwrite(*direct.value(), buffer + 1, 4096, 0);
    KEXPECT(bad_buffer.is_error() && bad_buffer.error().code() == EINVAL);
    auto bad_offset = vfs::pwrite(*direct.value(), buffer, 4096, 100);
    KEXPECT(bad_offset.is_error() && bad_offset.error().code() == EINVAL);
    auto bad_length = vfs::pwrite(*direct.value(), buffer, 1000, 0);
    KEXPECT(bad_length.is_error() && bad_length.error().code() == EINVAL);
    KEXPECT_EQ(vfs::pwrite(*direct.value(), buffer, LENGTH, 0).value(), LENGTH);
    // A buffered view sees the direct write...
    auto buffered = vfs::open("/mnt/direct", O_RDWR);
    KASSERT(!buffered.is_error());
    auto* check = static_cast<u8*>(kmalloc(LENGTH));
    KASSERT(check);
    KEXPECT_EQ(vfs::pread(*buffered.value(), check, LENGTH, 0).value(), LENGTH);
    KEXPECT(memcmp(check, buffer, LENGTH) == 0);
    // ...and a direct read sees a buffered write (written back first).
    memset(check, 0x5A, 4096);
    KEXPECT_EQ(vfs::pwrite(*buffered.value(), check, 4096, 8192).value(), 4096u);
    memset(buffer, 0, LENGTH);
    KEXPECT_EQ(vfs::pread(*direct.value(), buffer, LENGTH, 0).value(), LENGTH);
    KEXPECT(buffer[8192] == 0x5A && buffer[8192 + 4095] == 0x5A && buffer[8191] == content_byte(99, 8191));
    (void)vfs::close(buffered.value());
    (void)vfs::close(direct.value());
    KEXPECT(!vfs::unlink("/mnt/direct").is_error());
    kfree(check);
    mm::free_pages(mm::virt_to_page(buffer), 4);
}

// Memory pressure through ext2 (ext2.pressure_mib=N): write a file of N MiB
// (several times the guest's RAM) and read it back; the page cache must
// write back and reclaim its way through, and every byte must come back.
KTEST(ext2_pressure, file_larger_than_ram)
{
    const u64 mib = boot_info().command_line.get_u64("ext2.pressure_mib", 0);
    if (!have_root2() || mib == 0)
        return;
    const u64 size = mib * MiB;
    auto* buffer = static_cast<u8*>(kmalloc(64 * KiB));
    KASSERT(buffer);
    auto file = vfs::open("/mnt/huge", O_RDWR | O_CREAT | O_TRUNC, 0644);
    KASSERT(!file.is_error());
    u64 expected = FNV_OFFSET;
    for (u64 at = 0; at < size; at += 64 * KiB) {
        for (usize i = 0; i < 64 * KiB; i++)
            buffer[i] = content_byte(5, at + i);
        expected = fnv1a(expected, buffer, 64 * KiB);
        auto written = vfs::write(*file.value(), buffer, 64 * KiB);
        if (written.is_error() || written.value() != 64 * KiB) {
            KEXPECT(false);
            log_raw("ext2_pressure: write at %lu failed (errno %d)\n", at,
                written.is_error() ? written.error().code() : 0);
            break;
        }
    }
    KEXPECT(!vfs::fsync(*file.value()).is_error());
    KEXPECT(!vfs::lseek(*file.value(), 0, SEEK_SET).is_error());
    u64 hash = FNV_OFFSET;
    u64 read_total = 0;
    for (;;) {
        auto n = vfs::read(*file.value(), buffer, 64 * KiB);
        if (n.is_error() || n.value() == 0) {
            KEXPECT(!n.is_error());
            break;
        }
        hash = fnv1a(hash, buffer, n.value());
        read_total += n.value();
    }
    const mm::PageCounters pages = mm::page_counters();
    log_raw("ext2_pressure: size=%lu MiB ram=%lu MiB read=%lu hash=%016lx expected=%016lx\n", mib,
        pages.total * PAGE_SIZE / MiB, read_total, hash, expected);
    KEXPECT_EQ(read_total, size);
    KEXPECT(hash == expected);
    (void)vfs::close(file.value());
    KEXPECT(!vfs::unlink("/mnt/huge").is_error());
    kfree(buffer);
}

// A block allocated under a partial write inside a hole was a freed block
// with old data on the disk: the bytes of it the write does not cover must
// read as zeros (before and after the written range), cached or not.
KTEST(ext2_write, partial_write_into_a_hole_reads_zeros_around_it)
{
    if (!have_root2())
        return;
    constexpr usize OLD_LENGTH = 256 * KiB;
    auto* buffer = static_cast<u8*>(kmalloc(OLD_LENGTH));
    KASSERT(buffer);
    // Old data on the disk, then freed.
    memset(buffer, 0xab, OLD_LENGTH);
    auto old = vfs::open("/mnt/stale", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    KASSERT(!old.is_error());
    KEXPECT_EQ(vfs::write(*old.value(), buffer, OLD_LENGTH).value(), OLD_LENGTH);
    KEXPECT(!vfs::fsync(*old.value()).is_error());
    (void)vfs::close(old.value());
    KEXPECT(!vfs::unlink("/mnt/stale").is_error());
    KEXPECT(!vfs::sync_all().is_error());

    auto file = vfs::open("/mnt/holey", O_RDWR | O_CREAT | O_TRUNC, 0644);
    KASSERT(!file.is_error());
    KEXPECT(!vfs::ftruncate(*file.value(), 200 * KiB).is_error());
    memset(buffer, 0x11, 100);
    // Offsets inside blocks of any size (1-4 KiB), away from block starts and ends.
    static const u64 OFFSETS[] = { 5000, 2000, 70000 + 3, 150 * KiB + 1500 };
    for (u64 offset : OFFSETS)
        KEXPECT_EQ(vfs::pwrite(*file.value(), buffer, 100, offset).value(), 100u);
    for (int pass = 0; pass < 2; pass++) { // from the cache, then from the disk
        if (pass == 1)
            KEXPECT(!vfs::drop_cache(*file.value()).is_error());
        KEXPECT_EQ(vfs::pread(*file.value(), buffer, 200 * KiB, 0).value(), 200 * KiB);
        u32 wrong = 0;
        for (u64 o = 0; o < 200 * KiB; o++) {
            bool written = false;
            for (u64 offset : OFFSETS)
                written = written || (o >= offset && o < offset + 100);
            if (buffer[o] != (written ? 0x11 : 0)) {
                if (wrong++ == 0)
                    log_raw("ext2_write: holey pass %d: byte %lu is %02x\n", pass, o, buffer[o]);
            }
        }
        KEXPECT_EQ(wrong, 0u);
    }
    (void)vfs::close(file.value());
    KEXPECT(!vfs::unlink("/mnt/holey").is_error());
    kfree(buffer);
}

// The largest ext2 file (Linux's ext2_max_size; tests/host Ext2MaxFileSize
// works the numbers): a write at it is EFBIG, one that starts 10 bytes
// below it is shortened to those 10 bytes, truncation past it is EFBIG.
KTEST(ext2_limits, writes_past_the_largest_file_are_efbig_or_shortened)
{
    if (!have_root2() || boot_info().command_line.has("root2.ro"))
        return;
    auto file = vfs::open("/mnt/largest", O_RDWR | O_CREAT | O_TRUNC, 0644);
    KASSERT(!file.is_error());
    vfs::File& f = *file.value();
    vfs::Stat st;
    KASSERT(!vfs::fstat(f, st).is_error());
    u64 limit = 0;
    if (st.block_size == 1024)
        limit = 16843020ull * 1024;
    else if (st.block_size == 2048)
        limit = 134480396ull * 2048;
    else if (st.block_size == 4096)
        limit = 536346110ull * 4096;
    KASSERT(limit != 0);
    char data[100];
    memset(data, 0x6c, sizeof(data));
    auto at_limit = vfs::pwrite(f, data, 1, limit);
    KEXPECT(at_limit.is_error() && at_limit.error().code() == EFBIG);
    auto past = vfs::pwrite(f, data, 100, limit + 4096);
    KEXPECT(past.is_error() && past.error().code() == EFBIG);
    auto shortened = vfs::pwrite(f, data, 100, limit - 10);
    KEXPECT(!shortened.is_error() && shortened.value() == 10);
    KEXPECT(!vfs::fstat(f, st).is_error());
    KEXPECT_EQ(st.size, limit);
    char back[100] = {};
    KEXPECT(!vfs::drop_cache(f).is_error());
    KEXPECT_EQ(vfs::pread(f, back, 100, limit - 10).value(), 10u);
    KEXPECT(memcmp(back, data, 10) == 0);
    KEXPECT_EQ(vfs::pread(f, back, 100, limit).value(), 0u);
    auto too_long = vfs::ftruncate(f, limit + 1);
    KEXPECT(too_long.is_error() && too_long.error().code() == EFBIG);
    KEXPECT(!vfs::close(&f).is_error());
    KEXPECT(!vfs::unlink("/mnt/largest").is_error());
}

// A filesystem filled to ENOSPC (qemu.ext2_limits boots with a 4 MiB image of
// 1 KiB blocks, after ext2_limits; e2fsck -fn checks it afterwards): a write that runs out of
// blocks part-way returns the bytes that fit (Linux), the file's size is
// exactly what the writes returned, and no block stays allocated past it.
// Then, with exactly one block free (that held old data), a write across two
// blocks of a hole writes the bytes that fit in the first, and after the
// cache is dropped the file reads as zeros around them: never the old data.
KTEST(ext2_enospc, short_write_at_enospc_keeps_the_filesystem_consistent)
{
    if (!have_root2() || boot_info().command_line.has("root2.ro"))
        return;
    vfs::Stat st;
    KASSERT(!vfs::stat("/mnt", st).is_error());
    const u32 block_size = st.block_size;
    // Many blocks per write: the one that meets ENOSPC has allocated some.
    constexpr usize CHUNK = 60000;
    auto* buffer = static_cast<u8*>(kmalloc(64 * KiB));
    KASSERT(buffer);
    // Two one-block files of old data: freeing one leaves a single free block.
    memset(buffer, 0xab, block_size);
    static const char* const ONE_BLOCK[] = { "/mnt/one-a", "/mnt/one-b" };
    for (const char* path : ONE_BLOCK) {
        auto one = vfs::open(StringView(path), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        KASSERT(!one.is_error());
        KEXPECT_EQ(vfs::write(*one.value(), buffer, block_size).value(), block_size);
        KEXPECT(!vfs::fsync(*one.value()).is_error()); // on the disk, not only cached
        KEXPECT(!vfs::close(one.value()).is_error());
    }

    auto fill = vfs::open("/mnt/fill", O_RDWR | O_CREAT | O_TRUNC, 0644);
    KASSERT(!fill.is_error());
    u64 total = 0;
    u32 short_writes = 0;
    int last_error = 0;
    for (u32 i = 0; i < 100000; i++) {
        for (usize b = 0; b < CHUNK; b++)
            buffer[b] = content_byte(21, total + b);
        auto written = vfs::write(*fill.value(), buffer, CHUNK);
        if (written.is_error()) {
            last_error = written.error().code();
            break;
        }
        KEXPECT(written.value() > 0 && written.value() <= CHUNK);
        short_writes += written.value() < CHUNK;
        total += written.value();
    }
    KEXPECT_EQ(last_error, ENOSPC);
    KEXPECT(!vfs::fstat(*fill.value(), st).is_error());
    KEXPECT_EQ(st.size, total);
    log_raw("ext2_enospc: filled %lu bytes, %u short write(s), then errno %d\n", total, short_writes, last_error);
    // What the writes returned is what reads give back, from the disk.
    KEXPECT(!vfs::fsync(*fill.value()).is_error());
    KEXPECT(!vfs::drop_cache(*fill.value()).is_error());
    u32 wrong = 0;
    for (u64 at = 0; at < total; at += 8 * KiB) {
        const usize n = static_cast<usize>(min<u64>(8 * KiB, total - at));
        KEXPECT_EQ(vfs::pread(*fill.value(), buffer, n, at).value(), n);
        for (usize b = 0; b < n; b++)
            wrong += buffer[b] != content_byte(21, at + b);
    }
    KEXPECT_EQ(wrong, 0u);
    KEXPECT(!vfs::close(fill.value()).is_error());

    // Exactly one free block, holding 0xab.
    KEXPECT(!vfs::unlink("/mnt/one-a").is_error());
    KEXPECT(!vfs::sync_all().is_error());
    auto sparse = vfs::open("/mnt/sparse-at-enospc", O_RDWR | O_CREAT | O_TRUNC, 0644);
    KASSERT(!sparse.is_error());
    KEXPECT(!vfs::ftruncate(*sparse.value(), 8 * block_size).is_error());
    memset(buffer, 0x5c, 100);
    const u64 at = block_size - 50; // 50 bytes in block 0, 50 in block 1
    auto written = vfs::pwrite(*sparse.value(), buffer, 100, at);
    KEXPECT(!written.is_error() && written.value() == 50);
    if (written.is_error())
        log_raw("ext2_enospc: write across two blocks with one free: errno %d\n", written.error().code());
    KEXPECT(!vfs::fsync(*sparse.value()).is_error());
    KEXPECT(!vfs::drop_cache(*sparse.value()).is_error());
    const usize size = 8 * block_size;
    KEXPECT_EQ(vfs::pread(*sparse.value(), buffer, size, 0).value(), size);
    const u64 written_end = at + (written.is_error() ? 0 : written.value());
    u32 stale = 0;
    for (usize b = 0; b < size; b++) {
        const u8 want = (b >= at && b < written_end) ? 0x5c : 0;
        if (buffer[b] != want && stale++ == 0)
            log_raw("ext2_enospc: sparse byte %lu is %02x, expected %02x\n", b, buffer[b], want);
    }
    KEXPECT_EQ(stale, 0u);
    KEXPECT(!vfs::fstat(*sparse.value(), st).is_error());
    KEXPECT_EQ(st.size, size);
    KEXPECT(!vfs::close(sparse.value()).is_error());
    KEXPECT(!vfs::sync_all().is_error());
    kfree(buffer);
}
