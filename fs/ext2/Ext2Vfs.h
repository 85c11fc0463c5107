// ext2 as a VFS filesystem type ("ext2"), mounted from a block device path.
#pragma once

namespace ext2 {

void register_filesystem();

} // namespace ext2
