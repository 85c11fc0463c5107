// devfs: /dev with the block devices (nvme0n1, vda), null, zero and console.
#pragma once

#include "fs/vfs/Vfs.h"

namespace devfs {

void register_filesystem();

} // namespace devfs
