// A block device as a file: its own Mapping, whose file offset is the
// device offset (block i of the "file" is logical block i of the device).
// devfs serves /dev/nvme0n1 through it (buffered, or O_DIRECT through
// DirectIo.h), and ext2 reads and writes its metadata through it, so that
// metadata and the device's buffered view share pages.
#pragma once

#include "fs/pagecache/Mapping.h"

namespace pagecache {

// Created on first use; lives until the device is removed.
Result<Mapping*> block_device_mapping(block::BlockDevice& device);
// The device is being removed (kernel/block/DeviceRemoval.h; nobody has it
// open or mounted): write back its dirty pages and flush (I/O still flows),
// drop every page, free the space and let the writeback context go.
// Returns the write-back error, if any (the pages are dropped anyway).
Result<void> release_block_device_mapping(block::BlockDevice& device);

} // namespace pagecache
