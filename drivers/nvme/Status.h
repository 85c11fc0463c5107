// NVMe completion status -> Linux errno, and a readable name for the log.
#pragma once

#include "kernel/lib/Types.h"

namespace nvme {

// `status_field` is CompletionEntry::status_field() (phase bit stripped).
// Returns 0 for success, otherwise a positive errno.
int status_to_errno(u16 status_field);
const char* status_name(u16 status_field);

} // namespace nvme
