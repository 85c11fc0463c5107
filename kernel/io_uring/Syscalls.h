// io_uring_setup(2), io_uring_enter(2) and io_uring_register(2): argument
// checking and the ring fd, in front of Ring (registered in the syscall
// table by kernel/syscall/IoUring.cpp).
#pragma once

#include "kernel/lib/Types.h"

namespace io_uring {

// What io_uring_params.features promises (each bit backed by code and a test).
u32 supported_features();
// The setup flags that are implemented; any other is EINVAL.
u32 supported_setup_flags();

long sys_setup(u64 entries, u64 user_params);
long sys_enter(u64 fd, u64 to_submit, u64 min_complete, u64 flags, u64 user_argument, u64 argument_size);
long sys_register(u64 fd, u64 opcode, u64 user_argument, u64 count);

} // namespace io_uring
