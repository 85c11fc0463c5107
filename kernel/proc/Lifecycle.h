// Process and thread life cycle: clone/fork/vfork, exit/exit_group, wait,
// and the work done on the way back to user mode.
#pragma once

#include "arch/x86_64/user/UserFrame.h"
#include "kernel/proc/Process.h"

namespace proc {

// clone(2) flags this kernel implements (include/uapi/linux/sched.h).
constexpr u64 CLONE_VM = 0x00000100;
constexpr u64 CLONE_FS = 0x00000200;
constexpr u64 CLONE_FILES = 0x00000400;
constexpr u64 CLONE_SIGHAND = 0x00000800;
constexpr u64 CLONE_VFORK = 0x00004000;
constexpr u64 CLONE_PARENT = 0x00008000;
constexpr u64 CLONE_THREAD = 0x00010000;
constexpr u64 CLONE_SYSVSEM = 0x00040000;
constexpr u64 CLONE_SETTLS = 0x00080000;
constexpr u64 CLONE_PARENT_SETTID = 0x00100000;
constexpr u64 CLONE_CHILD_CLEARTID = 0x00200000;
constexpr u64 CLONE_DETACHED = 0x00400000;
constexpr u64 CLONE_CHILD_SETTID = 0x01000000;
constexpr u64 CSIGNAL = 0xff;

struct CloneArgs {
    u64 flags = 0;      // without the CSIGNAL byte
    int exit_signal = 0;
    uptr stack = 0;     // new user stack pointer, 0 = the caller's
    uptr parent_tid = 0;
    uptr child_tid = 0;
    uptr tls = 0;
};

// The calling user thread makes a new thread (CLONE_THREAD) or process; the
// child returns 0 from the same syscall. Returns the child's tid. EINVAL for
// inconsistent or unsupported flags, EAGAIN without pids, ENOMEM.
Result<pid_t> clone(const CloneArgs& args);

// exit(2): the calling thread ends; the process ends with `code` if it was
// its last thread.
[[noreturn]] void exit_thread(int code);
// exit_group(2) and fatal signals: every thread of the group ends; the
// parent's wait sees `wait_status` (uapi/wait.h encoding).
[[noreturn]] void exit_group(u32 wait_status);
inline u32 wait_status_exited(int code) { return (static_cast<u32>(code) & 0xff) << 8; }
inline u32 wait_status_signaled(int signal) { return static_cast<u32>(signal) & 0x7f; }

// Which children a wait is for (wait4's pid argument, waitid's idtype/id).
struct WaitSelector {
    enum class Kind : u8 { Any, Pid, ProcessGroup } kind = Kind::Any;
    pid_t id = 0;
};

struct CpuTimes {
    u64 user_ns = 0;
    u64 system_ns = 0;
};

struct WaitResult {
    enum class Kind : u8 { Exited, Stopped, Continued } kind = Kind::Exited;
    pid_t pid = 0; // 0: WNOHANG and nothing to report
    u32 status = 0;
    CpuTimes times; // the child's and its reaped children's (wait4's rusage)
};

// CPU time of every task of `process` (live and exited), or of its reaped
// children (getrusage RUSAGE_SELF / RUSAGE_CHILDREN, times()).
CpuTimes process_times(Process& process);
CpuTimes children_times(Process& process);

// Wait for a child matching `selector` to change state. options: WEXITED
// (an exit), WUNTRACED (a group stop), WCONTINUED (a SIGCONT), WNOHANG,
// WNOWAIT (leave it waitable), __WCLONE / __WALL (children whose exit
// signal is not SIGCHLD). ECHILD if there is no such child, ERESTARTSYS
// when a signal interrupts the wait. status is wait4's encoding: exit
// code << 8 or the signal (| 0x80 core), sig << 8 | 0x7f, 0xffff.
Result<WaitResult> wait_child(const WaitSelector& selector, u32 options);

// Make the first user process: PID 1 runs `path` with argv/envp (kernel
// strings, null-terminated vectors), fds 0-1-2 on /dev/console. `exited`
// completes when it has ended; its status is init_exit_status().
Result<void> start_init(const char* path, const char* const* argv, const char* const* envp, Completion* exited);
u32 init_exit_status();

// The calling task leaves because its group is being killed (kill_pending).
[[noreturn]] void exit_killed_task();

// Boot: the syscall table and the user-mode hooks.
void init();

// "exited with status 3" / "killed by signal 11 (SIGSEGV)" into `buffer`.
void describe_wait_status(u32 status, char* buffer, usize size);

} // namespace proc
