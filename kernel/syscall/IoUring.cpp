// The io_uring family: io_uring_setup, io_uring_enter, io_uring_register
// (kernel/io_uring/Syscalls.h does the work; docs/IO_URING.md).
#include "kernel/io_uring/Syscalls.h"
#include "kernel/syscall/Table.h"
#include "uapi/unistd_64.h"

namespace sys {
namespace {

long sys_io_uring_setup(u64 entries, u64 params, u64, u64, u64, u64) { return io_uring::sys_setup(entries, params); }

long sys_io_uring_enter(u64 fd, u64 to_submit, u64 min_complete, u64 flags, u64 argument, u64 size)
{
    return io_uring::sys_enter(fd, to_submit, min_complete, flags, argument, size);
}

long sys_io_uring_register(u64 fd, u64 opcode, u64 argument, u64 count, u64, u64)
{
    return io_uring::sys_register(fd, opcode, argument, count);
}

} // namespace

void register_io_uring_syscalls()
{
    register_syscall(__NR_io_uring_setup, "io_uring_setup", sys_io_uring_setup);
    register_syscall(__NR_io_uring_enter, "io_uring_enter", sys_io_uring_enter);
    register_syscall(__NR_io_uring_register, "io_uring_register", sys_io_uring_register);
}

} // namespace sys
