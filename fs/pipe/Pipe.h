// Pipes: an anonymous FIFO inode over sixteen page buffers (64 KiB, Linux's
// default pipe capacity, filled as Linux fills them: a write's sub-page tail
// merges into the last buffer when it fits, whole pages take free buffers,
// so how much a non-blocking writer gets in matches Linux byte for byte),
// and the two open files of pipe(2).
//
// Semantics (pipe(7)): a read returns what is there (at most what was asked),
// waits while the pipe is empty and a writer exists, and returns 0 once every
// write end is closed; a write of at most PIPE_BUF (4096) bytes is atomic (it
// waits for room for all of it), a larger one may be split; a write with no
// read end open fails with EPIPE (the caller's SIGPIPE is the signal layer's,
// through the broken-pipe hook); O_NONBLOCK turns every wait into EAGAIN
// (a large non-blocking write returns what fitted). poll: POLLIN when data or
// no writer (POLLHUP), POLLOUT when room, POLLERR on a write end without
// readers. ioctl FIONREAD gives the bytes queued.
//
// Waits are interruptible: a pending signal ends them with -ERESTARTSYS
// (EINTR or a restart, as the signal layer decides).
//
// Lifetime: the inode lives while either end is open; the last close frees it
// (Inode::evict of an inode with no links).
#pragma once

#include "fs/vfs/Vfs.h"

namespace pipe {

constexpr usize CAPACITY = 64 * KiB;
constexpr usize PIPE_BUF = 4096;

// The read and write ends (File flags O_RDONLY / O_WRONLY plus `flags`, which
// may hold O_NONBLOCK), each with one reference.
struct Ends {
    vfs::File* read;
    vfs::File* write;
};
Result<Ends> create(u32 flags);

// Called on a write without readers, before EPIPE (the signal layer sends
// SIGPIPE); set at boot by the syscall layer.
void set_broken_pipe_hook(void (*hook)());

} // namespace pipe
