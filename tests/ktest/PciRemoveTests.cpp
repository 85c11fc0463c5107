// pci_remove: unbinding and rebinding the storage drivers at run time
// (pci::unbind / pci::rebind, kernel/block/DeviceRemoval.h), on the images of
// tests/qemu/blk_image.py (sector s holds s, blk.seed, then mix words).
//
// For nvme0n1 and vda: read and verify; removal refused with EBUSY while
// /dev/<name> is open; a bio to a device whose removal has begun ends with
// ENODEV; unbind: the name is gone from the registry, the PCI table shows no
// driver, /dev/<name> answers ENODEV; rebind: the same name, the same data
// (through a bio and through /dev/<name>); a second unbind/rebind cycle
// returns every page and heap byte the first one left.
//
// Runs only with remove.test=1 (it takes devices away under the other suites).
#include "drivers/pci/Pci.h"
#include "fs/vfs/FileApi.h"
#include "kernel/block/BlkMq.h"
#include "kernel/block/BlockDevice.h"
#include "kernel/block/DeviceRemoval.h"
#include "arch/x86_64/boot/BootInfo.h"
#include "kernel/lib/Format.h"
#include "kernel/lib/String.h"
#include "kernel/log/Log.h"
#include "kernel/mm/Heap.h"
#include "kernel/mm/PageAllocator.h"
#include "tests/ktest/Ktest.h"
#include "uapi/fcntl.h"

using namespace block;

namespace {

constexpr u32 READ_SECTORS = 64; // 32 KiB from the start of the disk, 8 pages
constexpr u32 READ_PAGES = READ_SECTORS * SECTOR_SIZE / PAGE_SIZE;

bool enabled() { return boot_info().command_line.get_u64("remove.test", 0) != 0; }
u64 seed() { return boot_info().command_line.get_u64("blk.seed", 1); }

// The image format shared with tests/qemu/blk_image.py.
u64 pattern_word(u64 sector, u64 image_seed, u32 k)
{
    if (k == 0)
        return sector;
    if (k == 1)
        return image_seed;
    return (sector * 0x9E3779B97F4A7C15ul) ^ (image_seed + k * 0xBF58476D1CE4E5B9ul);
}

// Words of `buffer` (starting at `first_sector`) that differ from the image.
u64 mismatches(const u8* buffer, u64 first_sector, u32 sectors)
{
    u64 bad = 0;
    for (u32 s = 0; s < sectors; s++) {
        const u64* words = reinterpret_cast<const u64*>(buffer + usize(s) * SECTOR_SIZE);
        for (u32 k = 0; k < SECTOR_SIZE / 8; k++)
            bad += words[k] != pattern_word(first_sector + s, seed(), k);
    }
    return bad;
}

// Read the first READ_SECTORS through a bio; 0 or the errno. The data is
// checked against the image; `bad` gets the mismatching words.
int read_and_check(BlockDevice& device, u64& bad)
{
    Page* pages[READ_PAGES] = {};
    BioVec vecs[READ_PAGES];
    for (u32 i = 0; i < READ_PAGES; i++) {
        pages[i] = mm::alloc_page();
        if (!pages[i]) {
            for (u32 j = 0; j < i; j++)
                mm::free_page(pages[j]);
            return ENOMEM;
        }
        vecs[i] = BioVec {pages[i], 0, PAGE_SIZE};
    }
    Bio bio;
    bio.device = &device;
    bio_init(bio, BioOp::Read, 0, vecs, READ_PAGES);
    const int error = submit_bio_wait(bio);
    bad = 0;
    if (!error)
        for (u32 i = 0; i < READ_PAGES; i++)
            bad += mismatches(static_cast<const u8*>(mm::page_address(pages[i])), u64(i) * (PAGE_SIZE / SECTOR_SIZE),
                              PAGE_SIZE / SECTOR_SIZE);
    for (u32 i = 0; i < READ_PAGES; i++)
        mm::free_page(pages[i]);
    return error;
}

bool listed(StringView name)
{
    for (usize i = 0; i < device_count(); i++)
        if (BlockDevice* device = device_at(i); device && name == StringView(device->name()))
            return true;
    return false;
}

struct Usage {
    u64 pages;
    u64 heap_bytes;
};

Usage usage_now()
{
    mm::drain_page_magazine(); // per-CPU cached pages count as used otherwise
    return Usage {mm::page_counters().used(), mm::heap_allocated_bytes()};
}

void check_device(KtestContext& ktest_context, const char* name, const char* driver)
{
    BlockDevice* device = find_device(StringView(name));
    if (!device) {
        log_info("ktest", "pci_remove: %s not attached, skipped", name);
        return;
    }
    pci::Device* pci_device = pci::find_bound_device(driver);
    KASSERT(pci_device != nullptr);
    char path[32];
    format_string(path, sizeof(path), "/dev/%s", name);

    // The data is there before anything happens.
    u64 bad = 1;
    KEXPECT_EQ(read_and_check(*device, bad), 0);
    KEXPECT_EQ(bad, 0ul);

    // An open device file refuses the unbind, and nothing changes.
    {
        auto file = vfs::open(StringView(path), O_RDONLY);
        KASSERT(!file.is_error());
        auto refused = pci::unbind(*pci_device);
        KEXPECT(refused.is_error() && refused.error().code() == EBUSY);
        KEXPECT(pci_device->driver != nullptr);
        KEXPECT(find_device(StringView(name)) == device);
        u64 word = 0;
        auto got = vfs::pread(*file.value(), &word, sizeof(word), 8 * SECTOR_SIZE);
        KEXPECT(!got.is_error() && got.value() == sizeof(word));
        KEXPECT_EQ(word, 8ul); // word 0 of sector 8 is 8
        KEXPECT(!vfs::close(file.value()).is_error());
    }

    // Removal begun: new bios end with ENODEV and lookups miss; cancelled,
    // the device works again (the first steps of remove(), undone).
    {
        KASSERT(!begin_removal(*device).is_error());
        KEXPECT(device->is_dying());
        KEXPECT(find_device(StringView(name)) == nullptr);
        KEXPECT_EQ(read_and_check(*device, bad), ENODEV);
        cancel_removal(*device);
        KEXPECT(find_device(StringView(name)) == device);
        KEXPECT_EQ(read_and_check(*device, bad), 0);
        KEXPECT_EQ(bad, 0ul);
    }

    const Usage bound = usage_now();
    KASSERT(!pci::unbind(*pci_device).is_error());
    const Usage removed = usage_now();
    KEXPECT(pci_device->driver == nullptr);
    KEXPECT(find_device(StringView(name)) == nullptr);
    KEXPECT(!listed(StringView(name)));
    KEXPECT(removed.pages < bound.pages); // rings, DMA buffers, cached pages came back
    {
        // The node stays, detached: ENODEV, as for a disk that is gone.
        auto file = vfs::open(StringView(path), O_RDONLY);
        KASSERT(!file.is_error());
        u64 word = 0;
        auto got = vfs::pread(*file.value(), &word, sizeof(word), 0);
        KEXPECT(got.is_error() && got.error().code() == ENODEV);
        KEXPECT(!vfs::close(file.value()).is_error());
    }
    // Unbinding twice is an error, not a crash.
    auto again = pci::unbind(*pci_device);
    KEXPECT(again.is_error() && again.error().code() == ENODEV);

    // Probe again: same name, same data, through a bio and through /dev.
    KASSERT(!pci::rebind(*pci_device).is_error());
    KEXPECT(pci_device->driver != nullptr && strcmp(pci_device->driver->name, driver) == 0);
    device = find_device(StringView(name));
    KASSERT(device != nullptr);
    KEXPECT(listed(StringView(name)));
    KEXPECT_EQ(read_and_check(*device, bad), 0);
    KEXPECT_EQ(bad, 0ul);
    {
        auto file = vfs::open(StringView(path), O_RDONLY);
        KASSERT(!file.is_error());
        u64 words[2] = {};
        auto got = vfs::pread(*file.value(), words, sizeof(words), 5 * SECTOR_SIZE);
        KEXPECT(!got.is_error() && got.value() == sizeof(words));
        KEXPECT_EQ(words[0], 5ul);
        KEXPECT_EQ(words[1], seed());
        KEXPECT(!vfs::close(file.value()).is_error());
    }

    // A second cycle leaks nothing: what the device holds while bound comes
    // back whole (the first cycle's figure may include one-time allocations:
    // the writeback context the first device made, slab pages).
    KASSERT(!pci::unbind(*pci_device).is_error());
    const Usage removed_again = usage_now();
    log_info("ktest", "pci_remove: %s: bound %lu pages / %lu heap bytes, removed %lu / %lu, removed again %lu / %lu",
             name, bound.pages, bound.heap_bytes, removed.pages, removed.heap_bytes, removed_again.pages,
             removed_again.heap_bytes);
    KEXPECT(removed_again.pages <= removed.pages);
    KEXPECT(removed_again.heap_bytes <= removed.heap_bytes);
    KASSERT(!pci::rebind(*pci_device).is_error());
    device = find_device(StringView(name));
    KASSERT(device != nullptr);
    KEXPECT_EQ(read_and_check(*device, bad), 0);
    KEXPECT_EQ(bad, 0ul);
    log_info("ktest", "pci_remove: %s: unbind/rebind verified", name);
}

} // namespace

KTEST(pci_remove, nvme_unbind_rebind)
{
    if (!enabled())
        return;
    check_device(ktest_context, "nvme0n1", "nvme");
}

KTEST(pci_remove, virtio_blk_unbind_rebind)
{
    if (!enabled())
        return;
    check_device(ktest_context, "vda", "virtio-blk");
}
