// The ring fd: an open file of an anonymous inode (Linux's anon_inode
// "[io_uring]") that owns one reference to its Ring. mmap(2) of it maps the
// ring's regions; the last close tears the ring down.
#pragma once

#include "fs/vfs/Vfs.h"
#include "kernel/io_uring/Ring.h"

namespace io_uring {

// A new open file (O_RDWR | `extra_flags`) for `ring`, taking over the
// caller's reference to it.
Result<vfs::File*> open_ring_file(Ring& ring, u32 extra_flags);

bool is_ring_file(const vfs::File& file);
// The ring of a ring file (is_ring_file must hold).
Ring& ring_of(const vfs::File& file);

} // namespace io_uring
