#include "kernel/block/BlockDevice.h"

#include "kernel/lib/Format.h"
#include "kernel/lib/String.h"
#include "kernel/log/Log.h"
#include "kernel/sync/SpinLock.h"

namespace block {

namespace {
SpinLock g_registry_lock;
BlockDevice* g_devices[MAX_BLOCK_DEVICES];
usize g_device_count = 0;
} // namespace

Result<BlockDevice*> BlockDevice::create(const DeviceInfo& info, TagSet& set, void* driver_data)
{
    if (info.capacity_sectors == 0 || info.limits.logical_block_size < SECTOR_SIZE ||
        (info.limits.logical_block_size & (info.limits.logical_block_size - 1)))
        return Error::from_errno(EINVAL);
    auto* device = new BlockDevice(info, set, driver_data);
    if (!device)
        return Error::from_errno(ENOMEM);
    return device;
}

Result<void> register_device(BlockDevice& device)
{
    SpinLockGuard guard(g_registry_lock);
    if (g_device_count == MAX_BLOCK_DEVICES)
        return Error::from_errno(ENOSPC);
    for (usize i = 0; i < g_device_count; i++)
        if (strcmp(g_devices[i]->name(), device.name()) == 0)
            return Error::from_errno(EEXIST);
    g_devices[g_device_count++] = &device;
    return {};
}

BlockDevice* find_device(StringView name)
{
    SpinLockGuard guard(g_registry_lock);
    for (usize i = 0; i < g_device_count; i++)
        if (name == StringView(g_devices[i]->name()))
            return g_devices[i];
    return nullptr;
}

usize device_count() { return __atomic_load_n(&g_device_count, __ATOMIC_ACQUIRE); }

BlockDevice* device_at(usize index) { return index < device_count() ? g_devices[index] : nullptr; }

void print_devices()
{
    log_raw("block devices:\n  %-10s %-8s %12s %9s %10s %7s %s\n", "name", "maj:min", "capacity", "lbs/pbs",
            "max xfer", "queues", "scheduler");
    for (usize i = 0; i < device_count(); i++) {
        BlockDevice& d = *g_devices[i];
        TagSet& set = d.tag_set();
        char majmin[16];
        format_string(majmin, sizeof(majmin), "%u:%u", d.major(), d.minor());
        log_raw("  %-10s %-8s %9lu MiB %4u/%-4u %6u KiB %3u+%-3u %s\n", d.name(), majmin, d.capacity_bytes() / MiB,
                d.limits().logical_block_size, d.limits().physical_block_size, d.limits().max_request_bytes() / 1024,
                set.interrupt_queue_count(), set.poll_queue_count(), set.hw_queue(0).scheduler_name());
    }
}

} // namespace block
