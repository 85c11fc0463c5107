// ktest suite "vfs_blockdev": block devices as files through the VFS
// (/dev/nvme0n1, /dev/vda), buffered and O_DIRECT, as user space would see
// them: a pattern written in one mode is read back in the other, and
// misaligned O_DIRECT requests get EINVAL. tests/qemu/pagecache_dev.py
// attaches the devices; without them every test passes vacuously and prints
// nothing (the scenario checks the "checked" lines).
#include "fs/vfs/FileApi.h"
#include "kernel/block/BlockDevice.h"
#include "kernel/lib/Format.h"
#include "kernel/lib/String.h"
#include "kernel/log/Log.h"
#include "kernel/mm/Heap.h"
#include "kernel/mm/PageAllocator.h"
#include "tests/ktest/Ktest.h"

namespace {

constexpr const char* DEVICES[] = { "nvme0n1", "vda" };

u8 pattern_at(u64 offset, u8 seed) { return static_cast<u8>((offset * 167) ^ (offset >> 10) ^ seed); }

// Page-aligned scratch for O_DIRECT (the buffer address must be aligned too).
struct PageBuffer {
    static constexpr u32 ORDER = 5; // 128 KiB
    static constexpr usize SIZE = PAGE_SIZE << ORDER;
    u8* bytes;
    PageBuffer() : bytes(static_cast<u8*>(mm::page_address(mm::alloc_pages(ORDER)))) { }
    ~PageBuffer()
    {
        if (bytes)
            mm::free_pages(mm::virt_to_page(bytes), ORDER);
    }
    PageBuffer(const PageBuffer&) = delete;
    PageBuffer& operator=(const PageBuffer&) = delete;
};

template <typename Fn>
void for_each_device_file(Fn&& fn)
{
    for (const char* name : DEVICES) {
        block::BlockDevice* device = block::find_device(StringView(name));
        if (!device || device->read_only())
            continue;
        char path[32];
        format_string(path, sizeof(path), "/dev/%s", name);
        fn(*device, StringView(path));
    }
}

} // namespace

KTEST(vfs_blockdev, stat_reports_a_block_device_of_the_right_size)
{
    for_each_device_file([&](block::BlockDevice& device, StringView path) {
        vfs::Stat st;
        KASSERT(!vfs::stat(path, st).is_error());
        KEXPECT_EQ(st.mode & S_IFMT, static_cast<u32>(S_IFBLK));
        auto file = vfs::open(path, O_RDONLY);
        KASSERT(!file.is_error());
        auto end = vfs::lseek(*file.value(), 0, SEEK_END);
        KASSERT(!end.is_error());
        KEXPECT_EQ(end.value(), device.capacity_bytes());
        (void)vfs::close(file.value());
    });
}

KTEST(vfs_blockdev, buffered_and_direct_views_are_coherent)
{
    KTEST_REQUIRE_OPTION("ktest.scratch_disks", "disks that keep what is written (tests/qemu/pagecache_dev.py)");
    for_each_device_file([&](block::BlockDevice& device, StringView path) {
        const u64 lbs = device.limits().logical_block_size;
        PageBuffer direct_buffer, check_buffer;
        KASSERT(direct_buffer.bytes && check_buffer.bytes);
        auto buffered = vfs::open(path, O_RDWR);
        auto direct = vfs::open(path, O_RDWR | O_DIRECT);
        KASSERT(!buffered.is_error() && !direct.is_error());

        // 1. Buffered write at an odd offset, fsync, read back with O_DIRECT
        //    over an aligned superset: the device has the bytes.
        constexpr u64 OFFSET = 24 * MiB + 3 * 512 + 17;
        constexpr usize LENGTH = 40000;
        auto* data = static_cast<u8*>(kmalloc(LENGTH));
        KASSERT(data);
        for (usize i = 0; i < LENGTH; i++)
            data[i] = pattern_at(OFFSET + i, 0x3c);
        KEXPECT_EQ(vfs::pwrite(*buffered.value(), data, LENGTH, OFFSET).value(), LENGTH);
        KEXPECT(!vfs::fsync(*buffered.value()).is_error());
        const u64 first = OFFSET & ~(lbs - 1);
        const u64 span = ((OFFSET + LENGTH + lbs - 1) & ~(lbs - 1)) - first;
        KASSERT(span <= PageBuffer::SIZE);
        memset(direct_buffer.bytes, 0, span);
        KEXPECT_EQ(vfs::pread(*direct.value(), direct_buffer.bytes, span, first).value(), span);
        KEXPECT_EQ(memcmp(direct_buffer.bytes + (OFFSET - first), data, LENGTH), 0);

        // 2. The buffered view caches a range, a direct write replaces it:
        //    the next buffered read sees the direct data, not stale pages.
        constexpr u64 DIRECT_OFFSET = 26 * MiB;
        constexpr usize DIRECT_LENGTH = 64 * KiB;
        KEXPECT_EQ(vfs::pread(*buffered.value(), check_buffer.bytes, DIRECT_LENGTH, DIRECT_OFFSET).value(),
            DIRECT_LENGTH);
        for (usize i = 0; i < DIRECT_LENGTH; i++)
            direct_buffer.bytes[i] = pattern_at(DIRECT_OFFSET + i, 0xa5);
        KEXPECT_EQ(vfs::pwrite(*direct.value(), direct_buffer.bytes, DIRECT_LENGTH, DIRECT_OFFSET).value(),
            DIRECT_LENGTH);
        memset(check_buffer.bytes, 0, DIRECT_LENGTH);
        KEXPECT_EQ(vfs::pread(*buffered.value(), check_buffer.bytes, DIRECT_LENGTH, DIRECT_OFFSET).value(),
            DIRECT_LENGTH);
        KEXPECT_EQ(memcmp(check_buffer.bytes, direct_buffer.bytes, DIRECT_LENGTH), 0);

        // 3. A buffered overwrite (not yet synced) inside the direct range is
        //    written back before a direct read of it.
        memset(data, 0xe7, 4096);
        KEXPECT_EQ(vfs::pwrite(*buffered.value(), data, 4096, DIRECT_OFFSET + 8192).value(), 4096u);
        memset(direct_buffer.bytes, 0, DIRECT_LENGTH);
        KEXPECT_EQ(vfs::pread(*direct.value(), direct_buffer.bytes, DIRECT_LENGTH, DIRECT_OFFSET).value(),
            DIRECT_LENGTH);
        KEXPECT(direct_buffer.bytes[8192] == 0xe7 && direct_buffer.bytes[8192 + 4095] == 0xe7);
        KEXPECT(direct_buffer.bytes[8191] == pattern_at(DIRECT_OFFSET + 8191, 0xa5));
        KEXPECT(direct_buffer.bytes[8192 + 4096] == pattern_at(DIRECT_OFFSET + 8192 + 4096, 0xa5));

        // 4. Misaligned O_DIRECT: buffer address, offset, length; EINVAL each.
        KEXPECT_EQ(vfs::pread(*direct.value(), direct_buffer.bytes + 1, lbs, DIRECT_OFFSET).error().code(), EINVAL);
        KEXPECT_EQ(vfs::pread(*direct.value(), direct_buffer.bytes, lbs, DIRECT_OFFSET + 1).error().code(), EINVAL);
        KEXPECT_EQ(vfs::pwrite(*direct.value(), direct_buffer.bytes, lbs + 1, DIRECT_OFFSET).error().code(),
            EINVAL);
        KEXPECT_EQ(vfs::pwrite(*direct.value(), direct_buffer.bytes, lbs, DIRECT_OFFSET + lbs / 2).error().code(),
            EINVAL);
        // The refused write changed nothing.
        KEXPECT_EQ(vfs::pread(*direct.value(), check_buffer.bytes, lbs, DIRECT_OFFSET).value(), lbs);
        KEXPECT(check_buffer.bytes[0] == pattern_at(DIRECT_OFFSET, 0xa5));

        kfree(data);
        (void)vfs::close(direct.value());
        (void)vfs::close(buffered.value());
        log_raw("vfs_blockdev: %.*s checked (logical block %lu)\n", static_cast<int>(path.length()),
            path.chars(), lbs);
    });
}
