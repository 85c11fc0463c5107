// The system call table: Linux x86-64 numbers (uapi/unistd_64.h) to handlers.
//
// A handler gets the six argument registers (rdi, rsi, rdx, r10, r8, r9) and
// returns the value for rax: a result, or a negative errno. Each family file
// (Files.cpp, Memory.cpp, Process.cpp, Signals.cpp, Time.cpp, IoUring.cpp,
// ...) defines one register_<family>_syscalls() that calls
// register_syscall() for its numbers; Table.cpp calls every one of them once
// at boot (register_all()). A number nobody registered returns -ENOSYS and
// is logged once with its name.
//
// A handler that needs the caller's registers (fork, execve, clone,
// rt_sigreturn) reads them from current_frame().
#pragma once

#include "arch/x86_64/user/UserFrame.h"
#include "kernel/lib/Types.h"

namespace sys {

using Handler = long (*)(u64, u64, u64, u64, u64, u64);

constexpr u32 TABLE_SIZE = 512;

void register_syscall(u32 number, const char* name, Handler handler);

// Boot: every family's register_*_syscalls(), then install the entry hook.
void register_all();

// Run the syscall in `frame` (the arch entry's hook).
void dispatch(UserFrame& frame);

// The calling user thread's saved registers.
UserFrame& current_frame();

// Family registration functions (one per file).
void register_file_syscalls();      // open, read/write family, lseek, dup, fcntl, ioctl
void register_stat_syscalls();      // stat family, statfs
void register_attribute_syscalls(); // chmod, chown, utimensat, access families
void register_control_syscalls();
void register_splice_syscalls();    // sendfile, copy_file_range   // fsync family, fallocate, fadvise64, truncate
void register_directory_syscalls(); // getdents, names (mkdir, unlink, rename, links), fchdir
void register_process_syscalls();
void register_memory_syscalls();
void register_system_syscalls(); // mount, umount2, reboot
void register_signal_syscalls(); // rt_sig*, kill family, sigaltstack, alarm, itimers
void register_time_syscalls();   // clocks, gettimeofday, time, nanosleep
void register_io_uring_syscalls(); // io_uring_setup, io_uring_enter, io_uring_register

} // namespace sys
