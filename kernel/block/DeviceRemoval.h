// Taking a block device away while the kernel runs (its driver is unbound:
// pci::unbind). The driver calls these in order, as Linux's del_gendisk and
// blk_mq_freeze_queue do for nvme_remove / virtblk_remove:
//
//   begin_removal(device)   EBUSY while a filesystem is mounted on it (a
//                           holder, BlockDevice::claim) or a listener refuses
//                           (devfs: /dev/<name> is open). Otherwise the device
//                           is dying: find_device() no longer sees it, new
//                           bios end with ENODEV, devfs detaches the device
//                           file and drops the device's page cache.
//   wait_idle(device, ns)   requests already issued (and bios inside
//                           submit_bio) finish; false if they did not in time.
//   fail_requests(set, e)   only when wait_idle gave up and the driver has
//                           stopped the device (no more DMA): every request
//                           still issued or queued ends with `e` (EIO).
//   finish_removal(device)  out of the registry (the name can be registered
//                           again), listeners told, the BlockDevice freed.
//
// cancel_removal(device) undoes begin_removal when the driver cannot go on
// (another namespace of the same controller is busy).
#pragma once

#include "kernel/block/BlockDevice.h"

namespace block {

// Views of block devices kept outside the block layer (devfs and the page
// cache of the device). Any member may be null.
struct DeviceListener {
    // A device was registered.
    void (*added)(BlockDevice& device) = nullptr;
    // Removal wants to begin: refuse with an error (EBUSY), or let go of the
    // device (nothing may reach it through the listener afterwards). May sleep.
    Result<void> (*removing)(BlockDevice& device) = nullptr;
    // begin_removal was cancelled after `removing` succeeded: attach again.
    void (*removal_cancelled)(BlockDevice& device) = nullptr;
};
void add_device_listener(const DeviceListener& listener);

Result<void> begin_removal(BlockDevice& device);
void cancel_removal(BlockDevice& device);
bool wait_idle(BlockDevice& device, u64 timeout_ns);
void fail_requests(TagSet& set, int error);
void finish_removal(BlockDevice& device);

} // namespace block
