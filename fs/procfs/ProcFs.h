// procfs ("proc"): /proc/diskstats, /proc/meminfo, /proc/mounts.
#pragma once

#include "fs/vfs/Vfs.h"

namespace procfs {

void register_filesystem();

} // namespace procfs
