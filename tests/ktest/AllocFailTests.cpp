// alloc_fail: allocation-failure injection (kernel/mm/FailInjection.h) swept
// over every allocation of a driver probe. For N = 1, 2, ... the Nth heap,
// slab or page allocation of the probing thread fails; each failed probe must
// return an error, leave the device unbound, give back every page, heap byte
// and slab object it took (counters exactly at their starting values) and
// leave no MSI-X vector of the device bound. The sweep ends at the first N
// the probe never reaches; the device is bound again afterwards and read.
//
// ext2_mount does the same for mounting the ext2 image on allocfail.ext2=
// (vda in the scenario): every failed mount leaves the device unclaimed, the
// counters at their start (clean page-cache pages dropped) and nothing mounted.
//
// Runs only with allocfail.test=1 (it takes devices away under the other suites).
#include "drivers/pci/Pci.h"
#include "fs/pagecache/Reclaim.h"
#include "fs/vfs/FileApi.h"
#include "fs/vfs/Vfs.h"
#include "kernel/block/BlkMq.h"
#include "kernel/block/BlockDevice.h"
#include "arch/x86_64/boot/BootInfo.h"
#include "kernel/irq/Irq.h"
#include "kernel/lib/String.h"
#include "kernel/lib/StringView.h"
#include "kernel/log/Log.h"
#include "kernel/mm/FailInjection.h"
#include "kernel/mm/Heap.h"
#include "kernel/mm/PageAllocator.h"
#include "kernel/mm/Slab.h"
#include "tests/ktest/Ktest.h"

namespace {

bool enabled() { return boot_info().command_line.get_u64("allocfail.test", 0) != 0; }

struct Usage {
    u64 pages;
    u64 heap_bytes;
    u64 slab_objects;
    bool operator==(const Usage&) const = default;
};

Usage usage_now()
{
    pagecache::drop_clean_pages(); // cached blocks of the device are not a leak
    // Per-CPU object and page caches count as used otherwise.
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

struct VectorCount {
    const char* prefix;
    u32 count;
};

// Interrupt vectors whose handler name starts with `prefix` ("nvme0q", "virtio0-").
u32 vectors_named(const char* prefix)
{
    VectorCount counter {prefix, 0};
    irq::for_each_named_vector(
        [](u32, u8, const char* name, u64, void* arg) {
            auto& c = *static_cast<VectorCount*>(arg);
            if (name && StringView(name).starts_with(StringView(c.prefix)))
                c.count++;
        },
        &counter);
    return counter.count;
}

bool msix_entries_free(const pci::Device& device)
{
    for (u32 entry = 0; entry < pci::Device::MAX_MSIX; entry++)
        if (device.msix_cpu_vector(entry))
            return false;
    return true;
}

void sweep(KtestContext& ktest_context, const char* driver, const char* disk, const char* vector_prefix)
{
    pci::Device* device = pci::find_bound_device(driver);
    if (!device) {
        log_info("ktest", "alloc_fail: no %s device, skipped", driver);
        return;
    }
    // One cycle first: what the first probe after boot allocates once (slab
    // pages of new caches, the writeback context) is not a leak.
    KASSERT(!pci::unbind(*device).is_error());
    KASSERT(!pci::rebind(*device).is_error());
    KASSERT(!pci::unbind(*device).is_error());
    const Usage start = usage_now();
    KEXPECT_EQ(vectors_named(vector_prefix), 0u);

    constexpr u64 MAX_STEPS = 5000;
    u64 failed_probes = 0, tolerated = 0, leaks = 0;
    u64 n = 1;
    for (; n <= MAX_STEPS; n++) {
        mm::fail_nth_allocation(n);
        auto probed = pci::rebind(*device);
        const mm::FailInjectionReport report = mm::stop_failing_allocations();
        if (!probed.is_error()) {
            if (!report.failed)
                break; // the probe makes fewer than n allocations: every one was tried
            // The failed allocation was optional (a log line, a hint): the
            // probe succeeded. Unbinding must still give everything back.
            tolerated++;
            KASSERT(!pci::unbind(*device).is_error());
        } else {
            failed_probes++;
            KEXPECT(report.failed);
            KEXPECT(device->driver == nullptr);
            KEXPECT(block::find_device(StringView(disk)) == nullptr);
        }
        const Usage now = usage_now();
        const u32 vectors = vectors_named(vector_prefix);
        if (!(now == start) || vectors != 0 || !msix_entries_free(*device)) {
            leaks++;
            log_error("ktest",
                      "alloc_fail: %s: allocation %lu failed: pages %lu -> %lu, heap %lu -> %lu, slab objects "
                      "%lu -> %lu, %u vectors bound",
                      driver, n, start.pages, now.pages, start.heap_bytes, now.heap_bytes, start.slab_objects,
                      now.slab_objects, vectors);
            if (leaks >= 5)
                break;
        }
    }
    KEXPECT_EQ(leaks, 0ul);
    KEXPECT(n <= MAX_STEPS);
    KEXPECT(failed_probes > 0);
    log_info("ktest", "alloc_fail: %s: %lu allocations in a probe, %lu failures swept, %lu failed cleanly, %lu "
                      "tolerated, %lu leaked",
             driver, n - 1, n - 1, failed_probes, tolerated, leaks);

    // Bound again, as at boot, and working.
    if (device->driver == nullptr)
        KASSERT(!pci::rebind(*device).is_error());
    block::BlockDevice* bound = block::find_device(StringView(disk));
    KASSERT(bound != nullptr);
    Page* page = mm::alloc_page();
    KASSERT(page != nullptr);
    block::BioVec vec {page, 0, PAGE_SIZE};
    block::Bio bio;
    bio.device = bound;
    block::bio_init(bio, block::BioOp::Read, 0, &vec, 1);
    KEXPECT_EQ(block::submit_bio_wait(bio), 0);
    mm::free_page(page);
    log_info("ktest", "alloc_fail: %s: every allocation failure of the probe is clean", driver);
}

} // namespace

KTEST(alloc_fail, nvme_probe)
{
    if (!enabled())
        return;
    sweep(ktest_context, "nvme", "nvme0n1", "nvme0q");
}

KTEST(alloc_fail, virtio_blk_probe)
{
    if (!enabled())
        return;
    sweep(ktest_context, "virtio-blk", "vda", "virtio0-");
}

KTEST(alloc_fail, ext2_mount)
{
    if (!enabled())
        return;
    const StringView source = boot_info().command_line.get("allocfail.ext2");
    if (source.is_empty()) {
        log_info("ktest", "alloc_fail: no allocfail.ext2= device, ext2 sweep skipped");
        return;
    }
    const StringView device_name = source.starts_with("/dev/") ? source.substring(5) : source;
    block::BlockDevice* device = block::find_device(device_name);
    KASSERT(device != nullptr);
    (void)vfs::mkdir("/allocfail");
    // The first mount makes what is made once (the device's mapping, slab caches).
    KASSERT(!vfs::mount(source, "/allocfail", "ext2", 0).is_error());
    KASSERT(!vfs::unmount("/allocfail").is_error());
    Usage start = usage_now();

    constexpr u64 MAX_STEPS = 5000;
    u64 failed_mounts = 0, tolerated = 0, leaks = 0;
    u64 n = 1;
    for (; n <= MAX_STEPS; n++) {
        mm::fail_nth_allocation(n);
        auto mounted = vfs::mount(source, "/allocfail", "ext2", 0);
        const mm::FailInjectionReport report = mm::stop_failing_allocations();
        if (!mounted.is_error()) {
            if (!report.failed)
                break;
            // Mounted despite the failure: unmount (which frees the superblock)
            // and count again from here, as what the tolerated failure skipped
            // may have been made once later.
            tolerated++;
            KASSERT(!vfs::unmount("/allocfail").is_error());
            start = usage_now();
            continue;
        }
        failed_mounts++;
        KEXPECT_EQ(device->holders(), 0u); // not left claimed: removable again
        const Usage now = usage_now();
        if (!(now == start)) {
            leaks++;
            log_error("ktest",
                      "alloc_fail: ext2: allocation %lu failed: pages %lu -> %lu, heap %lu -> %lu, slab objects "
                      "%lu -> %lu",
                      n, start.pages, now.pages, start.heap_bytes, now.heap_bytes, start.slab_objects,
                      now.slab_objects);
            if (leaks >= 5)
                break;
        }
    }
    KEXPECT_EQ(leaks, 0ul);
    KEXPECT(n <= MAX_STEPS);
    KEXPECT(failed_mounts > 0);
    log_info("ktest", "alloc_fail: ext2: %lu allocations in a mount, %lu failures swept, %lu failed cleanly, %lu "
                      "tolerated, %lu leaked",
             n - 1, n - 1, failed_mounts, tolerated, leaks);
    if (n <= MAX_STEPS)
        KEXPECT(!vfs::unmount("/allocfail").is_error());
}
