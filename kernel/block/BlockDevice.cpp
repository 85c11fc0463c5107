#include "kernel/block/BlockDevice.h"

#include "kernel/block/DeviceRemoval.h"
#include "kernel/block/SchedulerChoice.h"
#include "kernel/debug/Panic.h"
#include "arch/x86_64/boot/BootInfo.h"
#include "kernel/lib/Format.h"
#include "kernel/lib/String.h"
#include "kernel/log/Log.h"
#include "kernel/sync/Guarded.h"
#include "kernel/sync/SpinLock.h"

namespace block {

void notify_device_added(BlockDevice& device); // DeviceRemoval.cpp

namespace {
struct DeviceTable {
    BlockDevice* devices[MAX_BLOCK_DEVICES] = {};
    usize count = 0;

    bool has_name(const char* name) const
    {
        for (usize i = 0; i < count; i++)
            if (strcmp(devices[i]->name(), name) == 0)
                return true;
        return false;
    }
};
Guarded<DeviceTable> g_registry{LockRank::Registry, "block device table"};

// blk.scheduler=<device>:<scheduler>,... (kernel/block/SchedulerChoice.h).
// The scheduler lives on the hardware queues of the device's tag set, which
// the namespaces of one NVMe controller share: the first of them named gets
// its choice, a different choice for a sibling is refused with a warning.
void apply_scheduler_option(BlockDevice& device)
{
    const SchedulerChoice choice = scheduler_choice(boot_info().command_line.get("blk.scheduler"), device.name());
    TagSet& set = device.tag_set();
    switch (choice.status) {
    case SchedulerChoice::Status::NotNamed:
        return;
    case SchedulerChoice::Status::Unknown:
        log_warn("block", "%s: blk.scheduler names an unknown scheduler (none, mq-deadline); keeping %s",
                 device.name(), scheduler_kind_name(set.scheduler()));
        return;
    case SchedulerChoice::Status::Chosen:
        break;
    }
    if (set.scheduler_chosen_by() && set.scheduler() != choice.kind) {
        log_warn("block", "%s: blk.scheduler=%s refused: it shares the hardware queues of %s with %s, which chose %s",
                 device.name(), scheduler_kind_name(choice.kind), set.name(), set.scheduler_chosen_by(),
                 scheduler_kind_name(set.scheduler()));
        return;
    }
    if (auto result = set.set_scheduler(choice.kind); result.is_error()) {
        log_warn("block", "%s: scheduler %s not set: I/O already queued", device.name(),
                 scheduler_kind_name(choice.kind));
        return;
    }
    set.set_scheduler_chosen_by(device.name());
    log_info("block", "%s: scheduler %s (blk.scheduler), on the hardware queues of %s", device.name(),
             scheduler_kind_name(choice.kind), set.name());
}
} // namespace

Result<Own<BlockDevice>> BlockDevice::create(const DeviceInfo& info, TagSet& set, void* driver_data)
{
    if (info.capacity_sectors == 0 || info.limits.logical_block_size < SECTOR_SIZE ||
        (info.limits.logical_block_size & (info.limits.logical_block_size - 1)))
        return Error::from_errno(EINVAL);
    return adopt_own_or_enomem(new (nothrow) BlockDevice(info, set, driver_data));
}

Result<void> register_device(BlockDevice& device)
{
    TRY(g_registry.with([&](DeviceTable& table) -> Result<void> {
        if (table.count == MAX_BLOCK_DEVICES)
            return Error::from_errno(ENOSPC);
        if (table.has_name(device.name()))
            return Error::from_errno(EEXIST);
        return {};
    }));
    // Before the device is visible: no I/O can be queued on its behalf yet.
    apply_scheduler_option(device);
    TRY(g_registry.with([&](DeviceTable& table) -> Result<void> {
        if (table.count == MAX_BLOCK_DEVICES)
            return Error::from_errno(ENOSPC);
        if (table.has_name(device.name()))
            return Error::from_errno(EEXIST); // registered meanwhile
        table.devices[table.count++] = &device;
        return {};
    }));
    notify_device_added(device);
    return {};
}

void finish_removal(BlockDevice& device)
{
    ASSERT(device.is_dying() && device.usage() == 0);
    g_registry.with([&](DeviceTable& table) {
        for (usize i = 0; i < table.count; i++) {
            if (table.devices[i] != &device)
                continue;
            for (usize j = i; j + 1 < table.count; j++)
                table.devices[j] = table.devices[j + 1];
            table.devices[--table.count] = nullptr;
            break;
        }
    });
    log_info("block", "%s: removed", device.name());
    delete &device;
}

BlockDevice* find_device(StringView name)
{
    return g_registry.with([&](DeviceTable& table) -> BlockDevice* {
        for (usize i = 0; i < table.count; i++)
            if (name == StringView(table.devices[i]->name()) && !table.devices[i]->is_dying())
                return table.devices[i];
        return nullptr;
    });
}

usize device_count()
{
    return g_registry.with([](DeviceTable& table) { return table.count; });
}

BlockDevice* device_at(usize index)
{
    return g_registry.with([&](DeviceTable& table) { return index < table.count ? table.devices[index] : nullptr; });
}

void for_each_device(void (*visit)(BlockDevice&, void*), void* context)
{
    g_registry.with([&](DeviceTable& table) {
        for (usize i = 0; i < table.count; i++)
            visit(*table.devices[i], context);
    });
}

void print_devices()
{
    log_raw("block devices:\n  %-10s %-8s %12s %9s %10s %7s %s\n", "name", "maj:min", "capacity", "lbs/pbs",
            "max xfer", "queues", "scheduler");
    for_each_device([](BlockDevice& d, void*) {
        TagSet& set = d.tag_set();
        char majmin[16];
        format_string(majmin, sizeof(majmin), "%u:%u", d.major(), d.minor());
        log_raw("  %-10s %-8s %9lu MiB %4u/%-4u %6u KiB %3u+%-3u %s\n", d.name(), majmin, d.capacity_bytes() / MiB,
                d.limits().logical_block_size, d.limits().physical_block_size, d.limits().max_request_bytes() / 1024,
                set.interrupt_queue_count(), set.poll_queue_count(), set.hw_queue(0).scheduler_name());
    }, nullptr);
}

} // namespace block
