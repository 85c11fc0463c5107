// A block device as the rest of the kernel sees it: a Linux name (nvme0n1,
// vda), a major:minor, capacity, block sizes, transfer limits, statistics,
// and the TagSet of its controller. Devices are registered by drivers at
// probe time and looked up by name (devfs, the benchmark, tests).
#pragma once

#include "kernel/block/DiskStats.h"
#include "kernel/block/Limits.h"
#include "kernel/block/TagSet.h"
#include "kernel/lib/Atomic.h"
#include "kernel/lib/Own.h"
#include "kernel/lib/Result.h"
#include "kernel/lib/StringView.h"
#include "kernel/sync/SpinLock.h"

namespace block {

// Linux's numbers: NVMe namespaces are on the "blkext" major 259, virtio-blk
// on a dynamic major (252 on most systems); 16 minors per virtio disk.
constexpr u32 MAJOR_BLKEXT = 259;
constexpr u32 MAJOR_VIRTBLK = 252;

struct DeviceInfo {
    char name[16] = {};            // "nvme0n1"
    u32 major = 0;
    u32 minor = 0;
    u64 capacity_sectors = 0;      // 512-byte sectors
    QueueLimits limits;
    bool read_only = false;
};

class BlockDevice {
public:
    // A device over `set`; `driver_data` is the driver's per-device object
    // (its namespace). Not visible until register_device(); the caller owns
    // it until then, and the registry (finish_removal frees it) after.
    static Result<Own<BlockDevice>> create(const DeviceInfo& info, TagSet& set, void* driver_data);

    const char* name() const { return m_info.name; }
    u32 major() const { return m_info.major; }
    u32 minor() const { return m_info.minor; }
    u64 capacity_sectors() const { return m_info.capacity_sectors; }
    u64 capacity_bytes() const { return m_info.capacity_sectors << SECTOR_SHIFT; }
    const QueueLimits& limits() const { return m_info.limits; }
    bool read_only() const { return m_info.read_only; }
    TagSet& tag_set() { return *m_set; }
    void* driver_data() { return m_driver_data; }
    DiskStats& stats() { return m_stats; }

    // --- lifetime (kernel/block/DeviceRemoval.h) -----------------------------
    // A holder keeps the device from being removed (a mounted filesystem):
    // claim() fails with ENODEV once removal has begun, and removal fails
    // with EBUSY while anyone holds it.
    Result<void> claim();
    void unclaim();
    u32 holders() const { return m_holders.load(MemoryOrder::Acquire); }
    // Removal has begun: new bios end with ENODEV.
    bool is_dying() const { return m_dying.load(MemoryOrder::Acquire); }
    // Usage references, as Linux's q_usage_counter: one for each submit_bio
    // in progress and one for each request holding a tag. try_enter() fails
    // once the device is dying; enter() is for a caller that already holds a
    // reference (a request allocated inside submit_bio).
    bool try_enter();
    void enter() { m_usage.fetch_add(1, MemoryOrder::Relaxed); }
    void exit() { m_usage.fetch_sub(1, MemoryOrder::Release); }
    u64 usage() const { return m_usage.load(MemoryOrder::Acquire); }

private:
    friend Result<void> begin_removal(BlockDevice&);
    friend void cancel_removal(BlockDevice&);
    BlockDevice(const DeviceInfo& info, TagSet& set, void* driver_data)
        : m_info(info), m_set(&set), m_driver_data(driver_data) { }

    DeviceInfo m_info;
    TagSet* m_set;
    void* m_driver_data;
    DiskStats m_stats;
    SpinLock m_lifetime_lock{LockRank::Registry, "block device holders"}; // m_holders against m_dying
    Atomic<u32> m_holders{0}; // changed under m_lifetime_lock, read without
    Atomic<bool> m_dying{false};
    Atomic<u64> m_usage{0};
};

// --- the registry -----------------------------------------------------------
constexpr usize MAX_BLOCK_DEVICES = 32;

Result<void> register_device(BlockDevice& device);
// Live devices only: a device whose removal has begun is not found.
BlockDevice* find_device(StringView name);
usize device_count();
// A pointer with no reference held: for boot-time walks only (nothing is
// removed then). A walk that may race with removal uses for_each_device.
BlockDevice* device_at(usize index);
// Calls visit(device, context) for each registered device with the registry
// locked, so none is removed (and freed) meanwhile; visit must not sleep.
void for_each_device(void (*visit)(BlockDevice&, void*), void* context);
// Print "name major:minor capacity lbs/pbs max-transfer queues scheduler" for each.
void print_devices();

} // namespace block
