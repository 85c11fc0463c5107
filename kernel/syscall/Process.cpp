// Process and thread syscalls: identity, life cycle (fork/vfork/clone,
// execve, exit, wait), futexes, limits, the working directory, and the
// small per-process settings (umask, arch_prctl, prctl, uname, getrandom).
#include "arch/x86_64/Cpu.h"
#include "arch/x86_64/PerCpu.h"
#include "arch/x86_64/Random.h"
#include "arch/x86_64/mm/UserCopy.h"
#include "arch/x86_64/user/UserEntry.h"
#include "fs/vfs/FileApi.h"
#include "kernel/init/Version.h"
#include "kernel/lib/String.h"
#include "kernel/mm/Heap.h"
#include "kernel/proc/Current.h"
#include "kernel/proc/Exec.h"
#include "kernel/proc/Futex.h"
#include "kernel/proc/Lifecycle.h"
#include "kernel/proc/Paths.h"
#include "kernel/proc/ProcessTable.h"
#include "kernel/sched/Scheduler.h"
#include "kernel/sched/Thread.h"
#include "kernel/syscall/Table.h"
#include "kernel/time/Clock.h"
#include "uapi/errno.h"
#include "uapi/fcntl.h"
#include "uapi/unistd_64.h"

namespace sys {
namespace {

using proc::pid_t;

constexpr int NSIG = 64;

long error(const Error& e) { return -static_cast<long>(e.code()); }

template <typename T>
long result_of(const Result<T>& r)
{
    return r.is_error() ? error(r.error()) : static_cast<long>(r.value());
}

proc::Task& task() { return *proc::current_task(); }
proc::Process& process() { return *proc::current_process(); }

// --- identity ------------------------------------------------------------------

long sys_getpid(u64, u64, u64, u64, u64, u64) { return process().pid; }
long sys_gettid(u64, u64, u64, u64, u64, u64) { return task().tid; }

long sys_getppid(u64, u64, u64, u64, u64, u64)
{
    SpinLockGuard guard(proc::tree_lock());
    proc::Process* parent = process().parent;
    return parent ? parent->pid : 0;
}

// Every process runs as root (uid = gid = 0, no supplementary groups).
long sys_getuid(u64, u64, u64, u64, u64, u64) { return 0; }

long sys_getgroups(u64 size, u64 list, u64, u64, u64, u64)
{
    if (static_cast<i32>(size) < 0)
        return -EINVAL;
    (void)list;
    return 0;
}

// getresuid/getresgid: all three ids are 0.
long sys_getresuid(u64 real, u64 effective, u64 saved, u64, u64, u64)
{
    u32 zero = 0;
    const u64 pointers[] = {real, effective, saved};
    for (u64 pointer : pointers) {
        if (user::put_user(reinterpret_cast<u32*>(pointer), zero).is_error())
            return -EFAULT;
    }
    return 0;
}

// --- life cycle ----------------------------------------------------------------

long sys_exit(u64 code, u64, u64, u64, u64, u64) { proc::exit_thread(static_cast<int>(code)); }
long sys_exit_group(u64 code, u64, u64, u64, u64, u64) { proc::exit_group(proc::wait_status_exited(static_cast<int>(code))); }

long sys_fork(u64, u64, u64, u64, u64, u64)
{
    proc::CloneArgs args;
    args.exit_signal = SIGCHLD;
    return result_of(proc::clone(args));
}

long sys_vfork(u64, u64, u64, u64, u64, u64)
{
    proc::CloneArgs args;
    args.flags = proc::CLONE_VM | proc::CLONE_VFORK;
    args.exit_signal = SIGCHLD;
    return result_of(proc::clone(args));
}

// x86-64 argument order: flags, stack, parent_tid, child_tid, tls.
long sys_clone(u64 flags, u64 stack, u64 parent_tid, u64 child_tid, u64 tls, u64)
{
    proc::CloneArgs args;
    args.flags = flags & ~proc::CSIGNAL;
    args.exit_signal = static_cast<int>(flags & proc::CSIGNAL);
    if (args.exit_signal >= NSIG + 1)
        return -EINVAL;
    args.stack = stack;
    args.parent_tid = parent_tid;
    args.child_tid = child_tid;
    args.tls = tls;
    return result_of(proc::clone(args));
}

long sys_execve(u64 path, u64 argv, u64 envp, u64, u64, u64)
{
    char* kernel_path = static_cast<char*>(kmalloc(proc::PATH_CAPACITY));
    if (!kernel_path)
        return -ENOMEM;
    struct Free {
        void* p;
        ~Free() { kfree(p); }
    } free_path{kernel_path};
    auto copied = user::strncpy_from_user(kernel_path, reinterpret_cast<const char*>(path), proc::PATH_CAPACITY);
    if (copied.is_error())
        return error(copied.error());
    proc::ExecArgs args;
    if (auto r = args.add_user_vector(reinterpret_cast<const char* const*>(argv), false); r.is_error())
        return error(r.error());
    if (auto r = args.add_user_vector(reinterpret_cast<const char* const*>(envp), true); r.is_error())
        return error(r.error());
    auto done = proc::execve(kernel_path, args);
    // On success the frame starts the new program: rax = 0 there too.
    return done.is_error() ? error(done.error()) : 0;
}

constexpr u32 WNOHANG = 0x00000001;
constexpr u32 WUNTRACED = 0x00000002;
constexpr u32 WEXITED = 0x00000004;
constexpr u32 WCONTINUED = 0x00000008;
constexpr u32 WNOWAIT = 0x01000000;
constexpr u32 WNOTHREAD = 0x20000000;
constexpr u32 WALL = 0x40000000;
constexpr u32 WCLONE = 0x80000000;

proc::WaitSelector selector_for_wait4(i32 pid)
{
    proc::WaitSelector selector;
    if (pid > 0) {
        selector.kind = proc::WaitSelector::Kind::Pid;
        selector.id = pid;
    } else if (pid == 0) {
        selector.kind = proc::WaitSelector::Kind::ProcessGroup;
        SpinLockGuard guard(proc::tree_lock());
        selector.id = process().pgid;
    } else if (pid < -1) {
        selector.kind = proc::WaitSelector::Kind::ProcessGroup;
        selector.id = -pid;
    }
    return selector;
}

// struct rusage (include/uapi/linux/resource.h): two timevals, 14 longs.
struct RUsage {
    i64 utime_sec, utime_usec, stime_sec, stime_usec;
    i64 fields[14];
};
static_assert(sizeof(RUsage) == 144);

// Only the times are kept; the other fields (max RSS, faults, context
// switches, ...) are reported as 0.
RUsage rusage_of(const proc::CpuTimes& times)
{
    RUsage usage{};
    usage.utime_sec = static_cast<i64>(times.user_ns / 1'000'000'000);
    usage.utime_usec = static_cast<i64>(times.user_ns % 1'000'000'000 / 1000);
    usage.stime_sec = static_cast<i64>(times.system_ns / 1'000'000'000);
    usage.stime_usec = static_cast<i64>(times.system_ns % 1'000'000'000 / 1000);
    return usage;
}

long sys_wait4(u64 pid, u64 status, u64 options, u64 rusage, u64, u64)
{
    u32 flags = static_cast<u32>(options);
    if (flags & ~(WNOHANG | WUNTRACED | WCONTINUED | WNOTHREAD | WALL | WCLONE))
        return -EINVAL;
    i32 which = static_cast<i32>(pid);
    if (which == INT32_MIN)
        return -ESRCH;
    auto waited = proc::wait_child(selector_for_wait4(which),
                                   WEXITED | (flags & (WNOHANG | WUNTRACED | WCONTINUED | WALL | WCLONE)));
    if (waited.is_error())
        return error(waited.error());
    const proc::WaitResult& r = waited.value();
    if (r.pid == 0)
        return 0;
    if (status && user::put_user(reinterpret_cast<i32*>(status), static_cast<i32>(r.status)).is_error())
        return -EFAULT;
    if (rusage) {
        RUsage usage = rusage_of(r.times);
        if (user::copy_to_user(reinterpret_cast<void*>(rusage), &usage, sizeof usage).is_error())
            return -EFAULT;
    }
    return r.pid;
}

// siginfo_t for SIGCHLD (include/uapi/asm-generic/siginfo.h): si_signo,
// si_errno, si_code, then at offset 16 pid, uid, status.
struct SigInfoChild {
    i32 signo, error, code, pad;
    i32 pid;
    u32 uid;
    i32 status;
    u8 rest[128 - 28];
};
static_assert(sizeof(SigInfoChild) == 128);
constexpr int P_ALL = 0;
constexpr int P_PID = 1;
constexpr int P_PGID = 2;

long sys_waitid(u64 idtype, u64 id, u64 infop, u64 options, u64 rusage, u64)
{
    u32 flags = static_cast<u32>(options);
    if (flags & ~(WNOHANG | WEXITED | WUNTRACED | WCONTINUED | WNOWAIT | WNOTHREAD | WALL | WCLONE))
        return -EINVAL;
    if (!(flags & (WEXITED | WUNTRACED | WCONTINUED)))
        return -EINVAL;
    proc::WaitSelector selector;
    switch (static_cast<int>(idtype)) {
    case P_ALL:
        break;
    case P_PID:
        if (static_cast<i32>(id) <= 0)
            return -EINVAL;
        selector.kind = proc::WaitSelector::Kind::Pid;
        selector.id = static_cast<i32>(id);
        break;
    case P_PGID:
        if (static_cast<i32>(id) < 0)
            return -EINVAL;
        selector.kind = proc::WaitSelector::Kind::ProcessGroup;
        if (id == 0) {
            SpinLockGuard guard(proc::tree_lock());
            selector.id = process().pgid;
        } else {
            selector.id = static_cast<i32>(id);
        }
        break;
    default:
        return -EINVAL;
    }
    auto waited = proc::wait_child(selector, flags & (WNOHANG | WEXITED | WUNTRACED | WCONTINUED | WNOWAIT | WALL | WCLONE));
    if (waited.is_error())
        return error(waited.error());
    const proc::WaitResult& r = waited.value();
    if (infop) {
        SigInfoChild info{};
        if (r.pid) {
            info.signo = SIGCHLD;
            info.pid = r.pid;
            if (r.kind == proc::WaitResult::Kind::Stopped) {
                info.code = CLD_STOPPED;
                info.status = static_cast<i32>((r.status >> 8) & 0xff);
            } else if (r.kind == proc::WaitResult::Kind::Continued) {
                info.code = CLD_CONTINUED;
                info.status = SIGCONT;
            } else if ((r.status & 0x7f) == 0) {
                info.code = CLD_EXITED;
                info.status = static_cast<i32>((r.status >> 8) & 0xff);
            } else {
                info.code = (r.status & 0x80) ? CLD_DUMPED : CLD_KILLED;
                info.status = static_cast<i32>(r.status & 0x7f);
            }
        }
        if (user::copy_to_user(reinterpret_cast<void*>(infop), &info, sizeof info).is_error())
            return -EFAULT;
    }
    if (rusage) {
        RUsage usage = rusage_of(r.times);
        if (user::copy_to_user(reinterpret_cast<void*>(rusage), &usage, sizeof usage).is_error())
            return -EFAULT;
    }
    return 0;
}

long sys_set_tid_address(u64 address, u64, u64, u64, u64, u64)
{
    task().clear_child_tid = address;
    return task().tid;
}

// struct robust_list_head is three words; the kernel keeps the pointer.
constexpr u64 ROBUST_LIST_HEAD_SIZE = 24;

long sys_set_robust_list(u64 head, u64 length, u64, u64, u64, u64)
{
    if (length != ROBUST_LIST_HEAD_SIZE)
        return -EINVAL;
    task().robust_list = head;
    task().robust_list_length = length;
    return 0;
}

long sys_get_robust_list(u64 pid, u64 head_out, u64 length_out, u64, u64, u64)
{
    uptr head;
    {
        SpinLockGuard guard(proc::tree_lock());
        proc::Task* target = pid ? proc::find_task_locked(static_cast<pid_t>(pid)) : &task();
        if (!target)
            return -ESRCH;
        head = target->robust_list;
    }
    if (user::put_user(reinterpret_cast<u64*>(head_out), u64(head)).is_error() ||
        user::put_user(reinterpret_cast<u64*>(length_out), ROBUST_LIST_HEAD_SIZE).is_error())
        return -EFAULT;
    return 0;
}

// --- futex ----------------------------------------------------------------------

constexpr u32 FUTEX_WAIT = 0;
constexpr u32 FUTEX_WAKE = 1;
constexpr u32 FUTEX_REQUEUE = 3;
constexpr u32 FUTEX_CMP_REQUEUE = 4;
constexpr u32 FUTEX_WAKE_OP = 5;
constexpr u32 FUTEX_WAIT_BITSET = 9;
constexpr u32 FUTEX_WAKE_BITSET = 10;
constexpr u32 FUTEX_PRIVATE_FLAG = 128;
constexpr u32 FUTEX_CLOCK_REALTIME = 256;

struct TimeSpec {
    i64 seconds;
    i64 nanoseconds;
};

Result<u64> timespec_ns(u64 user_timespec)
{
    TimeSpec ts = TRY(user::get_user(reinterpret_cast<const TimeSpec*>(user_timespec)));
    if (ts.seconds < 0 || ts.nanoseconds < 0 || ts.nanoseconds >= 1'000'000'000)
        return Error::from_errno(EINVAL);
    if (static_cast<u64>(ts.seconds) > (~0ul - 999'999'999ul) / 1'000'000'000ul)
        return ~0ul;
    return static_cast<u64>(ts.seconds) * 1'000'000'000ul + static_cast<u64>(ts.nanoseconds);
}

long sys_futex(u64 address, u64 op_word, u64 value, u64 timeout_or_value2, u64 address2, u64 value3)
{
    u32 op = static_cast<u32>(op_word);
    bool shared = !(op & FUTEX_PRIVATE_FLAG);
    u32 command = op & ~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
    if ((op & FUTEX_CLOCK_REALTIME) && command != FUTEX_WAIT_BITSET)
        return -ENOSYS;
    u32 val = static_cast<u32>(value);
    switch (command) {
    case FUTEX_WAIT:
    case FUTEX_WAIT_BITSET: {
        u64 deadline = proc::FUTEX_NO_TIMEOUT;
        if (timeout_or_value2) {
            auto ns = timespec_ns(timeout_or_value2);
            if (ns.is_error())
                return error(ns.error());
            if (command == FUTEX_WAIT) {
                deadline = sched::deadline_after(ns.value()); // relative, CLOCK_MONOTONIC
            } else if (op & FUTEX_CLOCK_REALTIME) {
                // Absolute CLOCK_REALTIME: no wall clock in the kernel yet.
                return -ENOSYS;
            } else {
                deadline = ns.value(); // absolute CLOCK_MONOTONIC (= clock_ns)
            }
        }
        u32 bitset = command == FUTEX_WAIT ? proc::FUTEX_BITSET_MATCH_ANY : static_cast<u32>(value3);
        return result_of(proc::futex_wait(address, val, deadline, bitset, shared));
    }
    case FUTEX_WAKE:
    case FUTEX_WAKE_BITSET: {
        u32 bitset = command == FUTEX_WAKE ? proc::FUTEX_BITSET_MATCH_ANY : static_cast<u32>(value3);
        return result_of(proc::futex_wake(address, val, bitset, shared));
    }
    case FUTEX_REQUEUE:
    case FUTEX_CMP_REQUEUE: {
        if (static_cast<i32>(val) < 0 || static_cast<i32>(timeout_or_value2) < 0)
            return -EINVAL;
        return result_of(proc::futex_requeue(address, val, static_cast<u32>(timeout_or_value2), address2,
                                             command == FUTEX_CMP_REQUEUE, static_cast<u32>(value3), shared));
    }
    case FUTEX_WAKE_OP:
        return result_of(proc::futex_wake_op(address, val, address2, static_cast<u32>(timeout_or_value2),
                                             static_cast<u32>(value3), shared));
    default:
        return -ENOSYS;
    }
}

// --- scheduling -------------------------------------------------------------------

long sys_sched_yield(u64, u64, u64, u64, u64, u64)
{
    sched::yield();
    return 0;
}

constexpr i64 RUSAGE_SELF = 0;
constexpr i64 RUSAGE_CHILDREN = -1;
constexpr i64 RUSAGE_THREAD = 1;

long sys_getrusage(u64 who, u64 usage_out, u64, u64, u64, u64)
{
    proc::CpuTimes times;
    switch (static_cast<i64>(static_cast<i32>(who))) {
    case RUSAGE_SELF:
        times = proc::process_times(process());
        break;
    case RUSAGE_CHILDREN:
        times = proc::children_times(process());
        break;
    case RUSAGE_THREAD: {
        bool were_enabled = x86::save_and_disable_interrupts();
        user::charge_system_time(*task().user_state);
        times = {task().user_state->user_ns.load(MemoryOrder::Relaxed), task().user_state->system_ns.load(MemoryOrder::Relaxed)};
        x86::restore_interrupts(were_enabled);
        break;
    }
    default:
        return -EINVAL;
    }
    RUsage usage = rusage_of(times);
    return user::copy_to_user(reinterpret_cast<void*>(usage_out), &usage, sizeof usage).is_error() ? -EFAULT : 0;
}

// times(2): clock ticks (USER_HZ = 100); the return value counts ticks
// since boot (Linux's starts at an arbitrary point too; only differences
// mean anything).
constexpr u64 NS_PER_TICK = 10'000'000;

long sys_times(u64 buffer, u64, u64, u64, u64, u64)
{
    if (buffer) {
        proc::CpuTimes self = proc::process_times(process());
        proc::CpuTimes children = proc::children_times(process());
        i64 tms[4] = {static_cast<i64>(self.user_ns / NS_PER_TICK), static_cast<i64>(self.system_ns / NS_PER_TICK),
                      static_cast<i64>(children.user_ns / NS_PER_TICK),
                      static_cast<i64>(children.system_ns / NS_PER_TICK)};
        if (user::copy_to_user(reinterpret_cast<void*>(buffer), tms, sizeof tms).is_error())
            return -EFAULT;
    }
    return static_cast<long>(clock_ns() / NS_PER_TICK);
}

// sched_getaffinity/sched_setaffinity on a thread of the caller's (pid 0 =
// the caller). The mask is one 64-bit word (MAX_CPUS = 64). A mask with one
// CPU pins the thread there and moves it at once; a mask of every online
// CPU unpins it. Other subsets are refused with EINVAL (the scheduler pins
// to one CPU or none).
constexpr u64 CPU_MASK_BYTES = sizeof(u64);

u64 online_mask()
{
    u32 count = sched::cpu_count();
    return count >= 64 ? ~0ul : (1ul << count) - 1;
}

long sys_sched_getaffinity(u64 pid, u64 length, u64 mask_out, u64, u64, u64)
{
    if (length < CPU_MASK_BYTES || length % sizeof(u64))
        return -EINVAL;
    u64 mask;
    {
        SpinLockGuard guard(proc::tree_lock());
        proc::Task* target = pid ? proc::find_task_locked(static_cast<pid_t>(pid)) : &task();
        if (!target)
            return -ESRCH;
        u32 pinned = target->thread ? target->thread->pinned_cpu() : ThreadOptions::NO_PIN;
        mask = pinned == ThreadOptions::NO_PIN ? online_mask() : 1ul << pinned;
    }
    if (user::put_user(reinterpret_cast<u64*>(mask_out), mask).is_error())
        return -EFAULT;
    return static_cast<long>(CPU_MASK_BYTES);
}

long sys_sched_setaffinity(u64 pid, u64 length, u64 mask_in, u64, u64, u64)
{
    u64 mask = 0;
    usize copy = min(length, CPU_MASK_BYTES);
    if (user::copy_from_user(&mask, reinterpret_cast<const void*>(mask_in), copy).is_error())
        return -EFAULT;
    if (pid && static_cast<pid_t>(pid) != task().tid)
        return -EPERM; // only the calling thread can be moved
    mask &= online_mask();
    if (mask == 0)
        return -EINVAL;
    u32 cpu;
    if (mask == online_mask())
        cpu = ThreadOptions::NO_PIN;
    else if ((mask & (mask - 1)) == 0)
        cpu = static_cast<u32>(__builtin_ctzl(mask));
    else
        return -EINVAL;
    auto pinned = Thread::pin_current(cpu);
    return pinned.is_error() ? error(pinned.error()) : 0;
}

// getcpu(2): the CPU (and NUMA node 0) the caller runs on now.
long sys_getcpu(u64 cpu_out, u64 node_out, u64, u64, u64, u64)
{
    u32 cpu = current_cpu_index();
    u32 node = 0;
    if (cpu_out && user::put_user(reinterpret_cast<u32*>(cpu_out), cpu).is_error())
        return -EFAULT;
    if (node_out && user::put_user(reinterpret_cast<u32*>(node_out), node).is_error())
        return -EFAULT;
    return 0;
}

// --- groups and sessions ----------------------------------------------------------

long sys_getpgid(u64 pid, u64, u64, u64, u64, u64)
{
    SpinLockGuard guard(proc::tree_lock());
    proc::Process* target = pid ? proc::find_process_locked(static_cast<pid_t>(pid)) : &process();
    if (!target || target->state == proc::ProcessState::Zombie)
        return -ESRCH;
    return target->pgid;
}

long sys_getpgrp(u64, u64, u64, u64, u64, u64) { return sys_getpgid(0, 0, 0, 0, 0, 0); }

long sys_getsid(u64 pid, u64, u64, u64, u64, u64)
{
    SpinLockGuard guard(proc::tree_lock());
    proc::Process* target = pid ? proc::find_process_locked(static_cast<pid_t>(pid)) : &process();
    if (!target || target->state == proc::ProcessState::Zombie)
        return -ESRCH;
    return target->sid;
}

// setpgid (kernel/sys.c): the caller or one of its children that has not
// exec'd, in the caller's session; the group must exist in that session
// unless it is the process's own pid; a session leader cannot move.
long sys_setpgid(u64 pid_arg, u64 pgid_arg, u64, u64, u64, u64)
{
    i32 pid = static_cast<i32>(pid_arg);
    i32 pgid = static_cast<i32>(pgid_arg);
    if (pgid < 0)
        return -EINVAL;
    proc::Process& self = process();
    SpinLockGuard guard(proc::tree_lock());
    proc::Process* target = pid ? proc::find_process_locked(pid) : &self;
    if (!target || target->state == proc::ProcessState::Zombie)
        return -ESRCH;
    if (target != &self) {
        if (target->parent != &self)
            return -ESRCH;
        if (target->sid != self.sid)
            return -EPERM;
        if (target->did_exec)
            return -EACCES;
    }
    if (pgid == 0)
        pgid = target->pid;
    if (target->sid == target->pid)
        return -EPERM; // a session leader
    if (pgid != target->pid) {
        bool found = false;
        proc::for_each_process_locked([&](proc::Process& p) {
            if (p.pgid == pgid && p.sid == self.sid && p.state != proc::ProcessState::Zombie)
                found = true;
        });
        if (!found)
            return -EPERM;
    }
    target->pgid = pgid;
    return 0;
}

long sys_setsid(u64, u64, u64, u64, u64, u64)
{
    proc::Process& self = process();
    SpinLockGuard guard(proc::tree_lock());
    // EPERM if a process group with our pid already exists (we lead it, or
    // someone else still uses the id).
    bool taken = false;
    proc::for_each_process_locked([&](proc::Process& p) {
        if (p.pgid == self.pid)
            taken = true;
    });
    if (taken)
        return -EPERM;
    self.sid = self.pid;
    self.pgid = self.pid;
    self.controlling_tty = nullptr;
    return self.sid;
}

// --- limits -----------------------------------------------------------------------

struct RLimitUser {
    u64 current;
    u64 maximum;
};
constexpr u64 RLIMIT_NOFILE = 7;

// prlimit64 (kernel/sys.c do_prlimit): read the old limit and set the new
// one under the tree lock; the copies to and from user memory happen outside.
long sys_prlimit64(u64 pid, u64 resource, u64 new_limit, u64 old_limit, u64, u64)
{
    if (resource >= proc::RLIMIT_COUNT)
        return -EINVAL;
    RLimitUser wanted{};
    if (new_limit) {
        auto got = user::get_user(reinterpret_cast<const RLimitUser*>(new_limit));
        if (got.is_error())
            return -EFAULT;
        wanted = got.value();
        if (wanted.current > wanted.maximum)
            return -EINVAL;
        // RLIMIT_NOFILE cannot exceed what the descriptor table holds
        // (Linux: sysctl_nr_open).
        if (resource == RLIMIT_NOFILE && wanted.maximum > static_cast<u64>(vfs::FdTable::MAX_FDS))
            return -EPERM;
    }
    proc::RLimit previous;
    {
        SpinLockGuard guard(proc::tree_lock());
        proc::Process* target = pid ? proc::find_process_locked(static_cast<pid_t>(pid)) : &process();
        if (!target || target->state == proc::ProcessState::Zombie)
            return -ESRCH;
        previous = target->rlimits[resource];
        if (new_limit)
            target->rlimits[resource] = {wanted.current, wanted.maximum};
    }
    if (old_limit) {
        RLimitUser out{previous.current, previous.maximum};
        if (user::copy_to_user(reinterpret_cast<void*>(old_limit), &out, sizeof out).is_error())
            return -EFAULT;
    }
    return 0;
}

long sys_getrlimit(u64 resource, u64 limit, u64, u64, u64, u64)
{
    if (!limit)
        return -EFAULT;
    return sys_prlimit64(0, resource, 0, limit, 0, 0);
}

long sys_setrlimit(u64 resource, u64 limit, u64, u64, u64, u64)
{
    if (!limit)
        return -EFAULT;
    return sys_prlimit64(0, resource, limit, 0, 0, 0);
}

// --- system information -------------------------------------------------------------

// struct new_utsname: six 65-byte strings.
struct UtsName {
    char sysname[65], nodename[65], release[65], version[65], machine[65], domainname[65];
};

void set_field(char* field, const char* value) { memcpy(field, value, strlen(value) + 1); }

long sys_uname(u64 buffer, u64, u64, u64, u64, u64)
{
    UtsName uts{};
    // The release looks like a Linux version: C libraries compare it with
    // the oldest kernel they support (glibc: "FATAL: kernel too old").
    set_field(uts.sysname, "Linux");
    set_field(uts.nodename, "sluice");
    set_field(uts.release, "6.1.0-sluice-" SLUICE_VERSION);
    set_field(uts.version, "#1 SMP Sluice " SLUICE_VERSION);
    set_field(uts.machine, "x86_64");
    set_field(uts.domainname, "(none)");
    return user::copy_to_user(reinterpret_cast<void*>(buffer), &uts, sizeof uts).is_error() ? -EFAULT : 0;
}

constexpr u32 GRND_NONBLOCK = 1;
constexpr u32 GRND_RANDOM = 2;
constexpr u32 GRND_INSECURE = 4;

long sys_getrandom(u64 buffer, u64 length, u64 flags, u64, u64, u64)
{
    if (flags & ~u64(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE))
        return -EINVAL;
    if ((flags & GRND_INSECURE) && (flags & GRND_RANDOM))
        return -EINVAL;
    length = min(length, u64(0x1ffffff)); // Linux caps one call at 32 MiB - 1
    if (!user::access_ok(buffer, length))
        return -EFAULT;
    u8 chunk[256];
    u64 done = 0;
    while (done < length) {
        usize n = min(length - done, u64(sizeof chunk));
        random::get_bytes(chunk, n);
        if (user::copy_to_user(reinterpret_cast<u8*>(buffer) + done, chunk, n).is_error())
            return done ? static_cast<long>(done) : -EFAULT;
        done += n;
    }
    return static_cast<long>(done);
}

// --- fs context -------------------------------------------------------------------

long sys_umask(u64 mask, u64, u64, u64, u64, u64)
{
    return process().fs->state.with([&](proc::FsContext::State& state) {
        u32 previous = state.umask;
        state.umask = static_cast<u32>(mask) & 0777;
        return static_cast<long>(previous);
    });
}

long sys_getcwd(u64 buffer, u64 size, u64, u64, u64, u64)
{
    char* cwd = static_cast<char*>(kmalloc(proc::PATH_CAPACITY));
    if (!cwd)
        return -ENOMEM;
    struct Free {
        void* p;
        ~Free() { kfree(p); }
    } free_cwd{cwd};
    usize length = process().fs->state.with([&](const proc::FsContext::State& state) {
        usize n = strlen(state.cwd);
        memcpy(cwd, state.cwd, n + 1);
        return n;
    });
    if (length + 1 > size)
        return -ERANGE;
    if (user::copy_to_user(reinterpret_cast<void*>(buffer), cwd, length + 1).is_error())
        return -EFAULT;
    return static_cast<long>(length + 1);
}

long change_directory(const char* absolute)
{
    vfs::Stat st;
    if (auto r = vfs::stat(absolute, st); r.is_error())
        return error(r.error());
    if ((st.mode & S_IFMT) != S_IFDIR)
        return -ENOTDIR;
    process().fs->state.with([&](proc::FsContext::State& state) {
        memcpy(state.cwd, absolute, strlen(absolute) + 1);
    });
    return 0;
}

long sys_chdir(u64 path, u64, u64, u64, u64, u64)
{
    char* buffer = static_cast<char*>(kmalloc(2 * proc::PATH_CAPACITY));
    if (!buffer)
        return -ENOMEM;
    struct Free {
        void* p;
        ~Free() { kfree(p); }
    } free_buffer{buffer};
    auto copied = user::strncpy_from_user(buffer, reinterpret_cast<const char*>(path), proc::PATH_CAPACITY);
    if (copied.is_error())
        return error(copied.error());
    char* absolute = buffer + proc::PATH_CAPACITY;
    if (auto r = proc::absolute_path(buffer, absolute, proc::PATH_CAPACITY); r.is_error())
        return error(r.error());
    return change_directory(absolute);
}

// --- arch_prctl, prctl ----------------------------------------------------------------

constexpr u64 ARCH_SET_GS = 0x1001;
constexpr u64 ARCH_SET_FS = 0x1002;
constexpr u64 ARCH_GET_FS = 0x1003;
constexpr u64 ARCH_GET_GS = 0x1004;

long sys_arch_prctl(u64 code, u64 address, u64, u64, u64, u64)
{
    user::ThreadState& state = *task().user_state;
    switch (code) {
    case ARCH_SET_FS:
    case ARCH_SET_GS:
        // Linux: EPERM for a base in the kernel half or non-canonical
        // (arch/x86/kernel/process_64.c do_arch_prctl_64).
        if (address >= user::USER_END)
            return -EPERM;
        if (code == ARCH_SET_FS)
            user::set_fs_base(state, address);
        else
            user::set_gs_base(state, address);
        return 0;
    case ARCH_GET_FS:
    case ARCH_GET_GS: {
        u64 base = code == ARCH_GET_FS ? user::current_fs_base() : user::current_gs_base();
        return user::put_user(reinterpret_cast<u64*>(address), base).is_error() ? -EFAULT : 0;
    }
    default:
        return -EINVAL;
    }
}

constexpr u64 PR_SET_PDEATHSIG = 1;
constexpr u64 PR_GET_PDEATHSIG = 2;
constexpr u64 PR_GET_DUMPABLE = 3;
constexpr u64 PR_SET_DUMPABLE = 4;
constexpr u64 PR_SET_NAME = 15;
constexpr u64 PR_GET_NAME = 16;
constexpr u64 PR_SET_NO_NEW_PRIVS = 38;
constexpr u64 PR_GET_NO_NEW_PRIVS = 39;

long sys_prctl(u64 option, u64 arg2, u64 arg3, u64 arg4, u64 arg5, u64)
{
    proc::Process& self = process();
    switch (option) {
    case PR_SET_NAME: {
        char name[proc::COMM_CAPACITY];
        auto copied = user::strncpy_from_user(name, reinterpret_cast<const char*>(arg2), sizeof name);
        if (copied.is_error() && copied.error().code() != ENAMETOOLONG)
            return -EFAULT;
        // Longer names are cut to 15 characters, not refused.
        name[sizeof name - 1] = '\0';
        memcpy(self.comm, name, sizeof name);
        return 0;
    }
    case PR_GET_NAME:
        return user::copy_to_user(reinterpret_cast<void*>(arg2), self.comm, sizeof self.comm).is_error() ? -EFAULT : 0;
    case PR_SET_PDEATHSIG:
        if (arg2 > static_cast<u64>(NSIG))
            return -EINVAL;
        task().parent_death_signal = static_cast<int>(arg2);
        return 0;
    case PR_GET_PDEATHSIG:
        return user::put_user(reinterpret_cast<i32*>(arg2), static_cast<i32>(task().parent_death_signal)).is_error()
                   ? -EFAULT
                   : 0;
    case PR_GET_DUMPABLE:
        return self.dumpable;
    case PR_SET_DUMPABLE:
        if (arg2 > 1)
            return -EINVAL;
        self.dumpable = static_cast<int>(arg2);
        return 0;
    case PR_SET_NO_NEW_PRIVS:
        if (arg2 != 1 || arg3 || arg4 || arg5)
            return -EINVAL;
        self.no_new_privs = true;
        return 0;
    case PR_GET_NO_NEW_PRIVS:
        if (arg2 || arg3 || arg4 || arg5)
            return -EINVAL;
        return self.no_new_privs ? 1 : 0;
    default:
        return -EINVAL;
    }
}

} // namespace

void register_process_syscalls()
{
    register_syscall(__NR_getpid, "getpid", sys_getpid);
    register_syscall(__NR_gettid, "gettid", sys_gettid);
    register_syscall(__NR_getppid, "getppid", sys_getppid);
    register_syscall(__NR_getuid, "getuid", sys_getuid);
    register_syscall(__NR_geteuid, "geteuid", sys_getuid);
    register_syscall(__NR_getgid, "getgid", sys_getuid);
    register_syscall(__NR_getegid, "getegid", sys_getuid);
    register_syscall(__NR_getgroups, "getgroups", sys_getgroups);
    register_syscall(__NR_getresuid, "getresuid", sys_getresuid);
    register_syscall(__NR_getresgid, "getresgid", sys_getresuid);
    register_syscall(__NR_exit, "exit", sys_exit);
    register_syscall(__NR_exit_group, "exit_group", sys_exit_group);
    register_syscall(__NR_fork, "fork", sys_fork);
    register_syscall(__NR_vfork, "vfork", sys_vfork);
    register_syscall(__NR_clone, "clone", sys_clone);
    register_syscall(__NR_execve, "execve", sys_execve);
    register_syscall(__NR_wait4, "wait4", sys_wait4);
    register_syscall(__NR_waitid, "waitid", sys_waitid);
    register_syscall(__NR_set_tid_address, "set_tid_address", sys_set_tid_address);
    register_syscall(__NR_set_robust_list, "set_robust_list", sys_set_robust_list);
    register_syscall(__NR_get_robust_list, "get_robust_list", sys_get_robust_list);
    register_syscall(__NR_futex, "futex", sys_futex);
    register_syscall(__NR_sched_yield, "sched_yield", sys_sched_yield);
    register_syscall(__NR_sched_getaffinity, "sched_getaffinity", sys_sched_getaffinity);
    register_syscall(__NR_sched_setaffinity, "sched_setaffinity", sys_sched_setaffinity);
    register_syscall(__NR_getcpu, "getcpu", sys_getcpu);
    register_syscall(__NR_getrusage, "getrusage", sys_getrusage);
    register_syscall(__NR_times, "times", sys_times);
    register_syscall(__NR_getpgid, "getpgid", sys_getpgid);
    register_syscall(__NR_getpgrp, "getpgrp", sys_getpgrp);
    register_syscall(__NR_getsid, "getsid", sys_getsid);
    register_syscall(__NR_setpgid, "setpgid", sys_setpgid);
    register_syscall(__NR_setsid, "setsid", sys_setsid);
    register_syscall(__NR_prlimit64, "prlimit64", sys_prlimit64);
    register_syscall(__NR_getrlimit, "getrlimit", sys_getrlimit);
    register_syscall(__NR_setrlimit, "setrlimit", sys_setrlimit);
    register_syscall(__NR_uname, "uname", sys_uname);
    register_syscall(__NR_getrandom, "getrandom", sys_getrandom);
    register_syscall(__NR_umask, "umask", sys_umask);
    register_syscall(__NR_getcwd, "getcwd", sys_getcwd);
    register_syscall(__NR_chdir, "chdir", sys_chdir);
    register_syscall(__NR_arch_prctl, "arch_prctl", sys_arch_prctl);
    register_syscall(__NR_prctl, "prctl", sys_prctl);
}

} // namespace sys
