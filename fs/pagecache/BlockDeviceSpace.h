// A block device as a file: its own AddressSpace, whose file offset is the
// device offset (block i of the "file" is logical block i of the device).
// devfs serves /dev/nvme0n1 through it (buffered, or O_DIRECT through
// DirectIo.h), and ext2 reads and writes its metadata through it, so that
// metadata and the device's buffered view share pages.
#pragma once

#include "fs/pagecache/AddressSpace.h"

namespace pagecache {

// Created on first use; lives as long as the kernel (devices are not hot-removed).
Result<AddressSpace*> block_device_space(block::BlockDevice& device);

} // namespace pagecache
