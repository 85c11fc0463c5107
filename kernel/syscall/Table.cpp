#include "kernel/syscall/Table.h"

#include "kernel/debug/Panic.h"
#include "kernel/lib/Atomic.h"
#include "kernel/log/Log.h"
#include "kernel/sched/Thread.h"
#include "kernel/syscall/Names.h"
#include "kernel/lib/RestartErrno.h"
#include "uapi/errno.h"

namespace sys {
namespace {

struct Entry {
    Handler handler;
    const char* name;
};

Entry g_table[TABLE_SIZE];
// One bit per number: "unimplemented" already logged.
Atomic<u64> g_reported[TABLE_SIZE / 64];

long unimplemented(u64 number)
{
    u64 bit = 1ul << (number % 64);
    bool first = number >= TABLE_SIZE || !((g_reported[number / 64]).fetch_or(bit, MemoryOrder::Relaxed) & bit);
    if (first) {
        const char* name = number < TABLE_SIZE ? syscall_name(static_cast<u32>(number)) : nullptr;
        log_warn("syscall", "unimplemented system call %lu (%s): -ENOSYS", number, name ? name : "unknown");
    }
    return -ENOSYS;
}

} // namespace

void register_syscall(u32 number, const char* name, Handler handler)
{
    ASSERT(number < TABLE_SIZE);
    if (g_table[number].handler)
        panic("syscall %u (%s) registered twice", number, name);
    g_table[number] = {handler, name};
}

UserFrame& current_frame() { return *user::frame_at(current_thread()->stack_top()); }

void dispatch(UserFrame& frame)
{
    u64 number = frame.rax;
    long result;
    if (number < TABLE_SIZE && g_table[number].handler)
        result = g_table[number].handler(frame.rdi, frame.rsi, frame.rdx, frame.r10, frame.r8, frame.r9);
    else
        result = unimplemented(number);
    // A restart code always travels with a pending signal (the flag makes
    // the return path run the signal layer, which rewrites it); if the
    // signal was taken by another thread meanwhile, raise the flag anyway so
    // the syscall is restarted rather than leaking the code to user space.
    if (is_restart_errno(result))
        current_thread()->set_signal_pending(true);
    frame.rax = static_cast<u64>(result);
}

void register_all()
{
    register_file_syscalls();
    register_stat_syscalls();
    register_directory_syscalls();
    register_control_syscalls();
    register_attribute_syscalls();
    register_splice_syscalls();
    register_process_syscalls();
    register_memory_syscalls();
    register_system_syscalls();
    register_signal_syscalls();
    register_time_syscalls();
    register_io_uring_syscalls();
}

} // namespace sys
