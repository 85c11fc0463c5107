// Which I/O scheduler a block device gets, from the kernel command line:
//
//   blk.scheduler=nvme0n1:mq-deadline,vda:none
//
// A comma-separated list of device:scheduler pairs, read when the device is
// registered (register_device). Devices not named keep their driver's
// default (none). The scheduler belongs to the hardware queues of the
// device's TagSet, so every device sharing a tag set (the namespaces of one
// NVMe controller) shares the choice; see docs/BLOCK.md "Schedulers".
#pragma once

#include "kernel/block/Scheduler.h"
#include "kernel/lib/StringView.h"

namespace block {

struct SchedulerChoice {
    enum class Status : u8 {
        NotNamed, // the device is not in the list: keep the default
        Chosen,   // `kind` is the scheduler asked for
        Unknown,  // the device is named with a scheduler that does not exist
    };
    Status status = Status::NotNamed;
    SchedulerKind kind = SchedulerKind::None;
};

// The entry for `device` in the option's value `list` (the last one wins
// when a device is named twice).
SchedulerChoice scheduler_choice(StringView list, StringView device);

// "none" / "mq-deadline" -> kind; false for anything else.
bool parse_scheduler_name(StringView name, SchedulerKind& kind);

const char* scheduler_kind_name(SchedulerKind kind);

} // namespace block
