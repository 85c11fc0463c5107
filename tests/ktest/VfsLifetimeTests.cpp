// vfs_lifetime: what the VFS and ext2 allocate for names, inodes and mounts
// is given back. Runs with vfs_lifetime.ext2=<device> (tests/qemu/ext2_rw.py
// --part lifetime: an ext2 image with /many/f0 .. /many/f299), which the
// tests mount and unmount at /lifetime themselves; without it they pass
// vacuously.
//
// Memory is compared as the allocation-failure sweep does (AllocFailTests):
// pages in use, heap bytes and slab objects, after writing everything back
// and dropping clean page-cache pages (cached blocks are not a leak). Each
// test runs its workload once before taking the starting point, so that what
// is made once (the device's mapping, slab caches, the writeback thread) is
// not counted.
#include "fs/pagecache/Reclaim.h"
#include "fs/vfs/FileApi.h"
#include "fs/vfs/Vfs.h"
#include "arch/x86_64/boot/BootInfo.h"
#include "kernel/lib/Format.h"
#include "kernel/lib/String.h"
#include "kernel/log/Log.h"
#include "kernel/mm/Heap.h"
#include "kernel/mm/PageAllocator.h"
#include "kernel/mm/Slab.h"
#include "tests/ktest/Ktest.h"

namespace {

constexpr u32 HOST_FILES = 300; // /many/f0 .. f299 on the image
constexpr const char* MOUNT_AT = "/lifetime";

StringView source() { return boot_info().command_line.get("vfs_lifetime.ext2"); }

struct Usage {
    u64 pages;
    u64 heap_bytes;
    u64 slab_objects;
    bool operator==(const Usage&) const = default;
};

Usage usage_now()
{
    (void)vfs::sync_all();
    pagecache::drop_clean_pages();
    mm::slab_shrink_all();
    mm::drain_page_magazine();
    constexpr usize MAX_CACHES = 128;
    static mm::SlabCounters caches[MAX_CACHES];
    const usize count = min(mm::slab_counters(caches, MAX_CACHES), MAX_CACHES);
    u64 objects = 0;
    for (usize i = 0; i < count; i++)
        objects += caches[i].active_objects;
    return Usage {mm::page_counters().used(), mm::heap_allocated_bytes(), objects};
}

void log_usage(const char* what, const Usage& start, const Usage& now)
{
    log_raw("vfs_lifetime: %s: pages %lu -> %lu, heap %lu -> %lu, slab objects %lu -> %lu\n", what, start.pages,
            now.pages, start.heap_bytes, now.heap_bytes, start.slab_objects, now.slab_objects);
}

// Names /lifetime/many/f<first> .. f<first + count - 1>.
bool stat_host_files(u32 first, u32 count)
{
    char path[64];
    for (u32 i = first; i < first + count; i++) {
        format_string(path, sizeof(path), "%s/many/f%u", MOUNT_AT, i);
        vfs::Stat st;
        if (vfs::stat(StringView(path), st).is_error())
            return false;
    }
    return true;
}

bool mount_it() { return !vfs::mount(source(), MOUNT_AT, "ext2", 0).is_error(); }
bool unmount_it() { return !vfs::unmount(MOUNT_AT).is_error(); }

} // namespace

// Every mount/unmount cycle gives back its superblock, inodes, dentries and
// mount (Linux frees them at umount): none is kept for a filesystem that is
// gone.
KTEST(vfs_lifetime, mount_unmount_cycles_return_memory)
{
    if (source().is_empty())
        return;
    (void)vfs::mkdir(MOUNT_AT);
    KASSERT(mount_it());
    KEXPECT(stat_host_files(0, 20));
    KASSERT(unmount_it());
    const Usage start = usage_now();
    constexpr u32 CYCLES = 10;
    for (u32 cycle = 0; cycle < CYCLES; cycle++) {
        KASSERT(mount_it());
        KEXPECT(stat_host_files(0, 20));
        KASSERT(unmount_it());
    }
    const Usage now = usage_now();
    log_usage("10 mount/unmount cycles", start, now);
    KEXPECT(now == start);
    // An open file keeps the filesystem busy (umount without MNT_DETACH).
    KASSERT(mount_it());
    auto file = vfs::open("/lifetime/many/f1", O_RDONLY);
    KASSERT(!file.is_error());
    auto busy = vfs::unmount(MOUNT_AT);
    KEXPECT(busy.is_error() && busy.error().code() == EBUSY);
    KEXPECT(!vfs::close(file.value()).is_error());
    KEXPECT(unmount_it());
}

// The last link and the last open file of an inode gone: its blocks are freed
// on disk and its in-memory inode and dentry are freed too.
KTEST(vfs_lifetime, create_and_unlink_return_memory)
{
    if (source().is_empty())
        return;
    (void)vfs::mkdir(MOUNT_AT);
    KASSERT(mount_it());
    (void)vfs::mkdir("/lifetime/scratch");
    char path[64];
    auto cycle = [&](u32 files) {
        for (u32 i = 0; i < files; i++) {
            format_string(path, sizeof(path), "/lifetime/scratch/file-%u", i);
            auto file = vfs::open(StringView(path), O_RDWR | O_CREAT | O_TRUNC, 0644);
            if (file.is_error())
                return false;
            const bool wrote = !vfs::write(*file.value(), "some data", 9).is_error();
            (void)vfs::close(file.value());
            if (!wrote || vfs::unlink(StringView(path)).is_error())
                return false;
        }
        return true;
    };
    KEXPECT(cycle(20));
    const Usage start = usage_now();
    KEXPECT(cycle(200));
    const Usage now = usage_now();
    log_usage("200 files created and unlinked", start, now);
    KEXPECT(now == start);
    KEXPECT(!vfs::rmdir("/lifetime/scratch").is_error());
    KEXPECT(unmount_it());
}

// Names looked up and no longer used (no open file, no mount on them) are
// dropped with their inodes when memory is wanted: the shrinker the page
// cache's reclaim runs (vfs::shrink_name_cache) gives back what the lookups
// took, and the names are found again afterwards.
KTEST(vfs_lifetime, unused_dentries_and_inodes_are_reclaimed)
{
    if (source().is_empty())
        return;
    (void)vfs::mkdir(MOUNT_AT);
    KASSERT(mount_it());
    KEXPECT(stat_host_files(0, 10));
    (void)vfs::shrink_name_cache(~0ul);
    const Usage start = usage_now();
    KEXPECT(stat_host_files(0, HOST_FILES));
    const Usage grown = usage_now();
    KEXPECT(grown.heap_bytes + grown.slab_objects > start.heap_bytes + start.slab_objects);
    // An open file's name and inode stay.
    auto held = vfs::open("/lifetime/many/f7", O_RDONLY);
    KASSERT(!held.is_error());
    const u64 freed = vfs::shrink_name_cache(~0ul);
    log_raw("vfs_lifetime: shrink_name_cache freed %lu names\n", freed);
    KEXPECT(freed >= HOST_FILES - 1);
    KEXPECT(!vfs::close(held.value()).is_error());
    (void)vfs::shrink_name_cache(~0ul);
    const Usage now = usage_now();
    log_usage("300 names looked up, then reclaimed", start, now);
    KEXPECT(now == start);
    // Looked up again from the disk.
    KEXPECT(stat_host_files(0, HOST_FILES));
    vfs::Stat st;
    KEXPECT(!vfs::stat("/lifetime/many/f299", st).is_error() && st.size == 299);
    KEXPECT(unmount_it());
}
