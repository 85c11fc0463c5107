// Time syscalls: clock_gettime, clock_getres, clock_settime, gettimeofday,
// settimeofday, time, nanosleep, clock_nanosleep (Linux
// kernel/time/posix-timers.c, posix-stubs' clock table, hrtimer.c).
//
// Clocks: MONOTONIC = MONOTONIC_RAW = BOOTTIME = clock_ns() (the TSC; no
// suspend, no NTP slewing); REALTIME = TAI = the RTC at boot + clock_ns()
// (kernel/time/WallClock.h); the COARSE variants are those rounded down to
// the last scheduler tick (4 ms, Linux's resolution for them with HZ=250);
// PROCESS/THREAD_CPUTIME_ID the CPU time charged at every kernel crossing.
#include "arch/x86_64/Cpu.h"
#include "arch/x86_64/mm/UserCopy.h"
#include "arch/x86_64/user/UserEntry.h"
#include "kernel/lib/RestartErrno.h"
#include "kernel/proc/Current.h"
#include "kernel/proc/Lifecycle.h"
#include "kernel/sched/Scheduler.h"
#include "kernel/syscall/Table.h"
#include "kernel/time/Clock.h"
#include "kernel/time/Timer.h"
#include "kernel/time/WallClock.h"
#include "uapi/errno.h"
#include "uapi/time.h"
#include "uapi/unistd_64.h"

namespace sys {
namespace {

constexpr u64 NS_PER_SECOND = 1'000'000'000;

enum class ClockKind : u8 { Invalid, Monotonic, Realtime, Coarse, CoarseRealtime, ProcessCpu, ThreadCpu };

ClockKind kind_of(i32 clock)
{
    switch (clock) {
    case CLOCK_MONOTONIC:
    case CLOCK_MONOTONIC_RAW:
    case CLOCK_BOOTTIME:
        return ClockKind::Monotonic;
    case CLOCK_REALTIME:
    case CLOCK_TAI:
        return ClockKind::Realtime;
    case CLOCK_MONOTONIC_COARSE:
        return ClockKind::Coarse;
    case CLOCK_REALTIME_COARSE:
        return ClockKind::CoarseRealtime;
    case CLOCK_PROCESS_CPUTIME_ID:
        return ClockKind::ProcessCpu;
    case CLOCK_THREAD_CPUTIME_ID:
        return ClockKind::ThreadCpu;
    default:
        return ClockKind::Invalid; // alarm clocks, dynamic (fd/pid) clocks
    }
}

u64 thread_cpu_ns()
{
    user::ThreadState& state = *proc::current_task()->user_state;
    bool were_enabled = x86::save_and_disable_interrupts();
    user::charge_system_time(state);
    u64 ns = state.user_ns.load(MemoryOrder::Relaxed) + state.system_ns.load(MemoryOrder::Relaxed);
    x86::restore_interrupts(were_enabled);
    return ns;
}

u64 read_clock(ClockKind kind)
{
    switch (kind) {
    case ClockKind::Monotonic:
        return clock_ns();
    case ClockKind::Realtime:
        return wall_clock::now_ns();
    case ClockKind::Coarse:
        return clock_ns() / SCHED_TICK_NS * SCHED_TICK_NS;
    case ClockKind::CoarseRealtime: {
        u64 now = clock_ns();
        return wall_clock::now_ns() - (now - now / SCHED_TICK_NS * SCHED_TICK_NS);
    }
    case ClockKind::ProcessCpu: {
        proc::CpuTimes t = proc::process_times(*proc::current_process());
        return t.user_ns + t.system_ns;
    }
    case ClockKind::ThreadCpu:
        return thread_cpu_ns();
    case ClockKind::Invalid:
        break;
    }
    return 0;
}

uapi::timespec timespec_of(u64 ns)
{
    return {static_cast<long>(ns / NS_PER_SECOND), static_cast<long>(ns % NS_PER_SECOND)};
}

long put_timespec(u64 user_pointer, u64 ns)
{
    uapi::timespec ts = timespec_of(ns);
    return user::copy_to_user(reinterpret_cast<void*>(user_pointer), &ts, sizeof ts).is_error() ? -EFAULT : 0;
}

// get_timespec64 + timespec64_valid: EFAULT, then EINVAL.
Result<u64> get_timespec_ns(u64 user_pointer)
{
    uapi::timespec ts = TRY(user::get_user(reinterpret_cast<const uapi::timespec*>(user_pointer)));
    if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= static_cast<long>(NS_PER_SECOND))
        return Error::from_errno(EINVAL);
    if (static_cast<u64>(ts.tv_sec) >= ~0ul / NS_PER_SECOND - 1)
        return ~0ul / 2; // centuries: as good as forever
    return static_cast<u64>(ts.tv_sec) * NS_PER_SECOND + static_cast<u64>(ts.tv_nsec);
}

long sys_clock_gettime(u64 clock, u64 ts, u64, u64, u64, u64)
{
    ClockKind kind = kind_of(static_cast<i32>(clock));
    if (kind == ClockKind::Invalid)
        return -EINVAL;
    return put_timespec(ts, read_clock(kind));
}

long sys_clock_getres(u64 clock, u64 ts, u64, u64, u64, u64)
{
    ClockKind kind = kind_of(static_cast<i32>(clock));
    if (kind == ClockKind::Invalid)
        return -EINVAL;
    if (!ts)
        return 0;
    bool coarse = kind == ClockKind::Coarse || kind == ClockKind::CoarseRealtime;
    return put_timespec(ts, coarse ? SCHED_TICK_NS : 1);
}

long sys_clock_settime(u64 clock, u64 ts, u64, u64, u64, u64)
{
    ClockKind kind = kind_of(static_cast<i32>(clock));
    if (kind == ClockKind::Invalid)
        return -EINVAL;
    auto ns = get_timespec_ns(ts);
    if (ns.is_error())
        return -static_cast<long>(ns.error().code());
    // Only CLOCK_REALTIME can be set (Linux: EINVAL for the others).
    if (static_cast<i32>(clock) != CLOCK_REALTIME)
        return -EINVAL;
    wall_clock::set_ns(ns.value());
    return 0;
}

long sys_gettimeofday(u64 tv, u64 tz, u64, u64, u64, u64)
{
    if (tv) {
        u64 now = wall_clock::now_ns();
        uapi::timeval value{static_cast<long>(now / NS_PER_SECOND), static_cast<long>(now % NS_PER_SECOND / 1000)};
        if (user::copy_to_user(reinterpret_cast<void*>(tv), &value, sizeof value).is_error())
            return -EFAULT;
    }
    if (tz) {
        uapi::timezone zone{}; // UTC, no DST: Linux's sys_tz unless someone set it
        if (user::copy_to_user(reinterpret_cast<void*>(tz), &zone, sizeof zone).is_error())
            return -EFAULT;
    }
    return 0;
}

long sys_settimeofday(u64 tv, u64 tz, u64, u64, u64, u64)
{
    if (tv) {
        auto got = user::get_user(reinterpret_cast<const uapi::timeval*>(tv));
        if (got.is_error())
            return -EFAULT;
        if (got.value().tv_usec < 0 || got.value().tv_usec >= 1'000'000 || got.value().tv_sec < 0)
            return -EINVAL;
        if (tz && user::get_user(reinterpret_cast<const uapi::timezone*>(tz)).is_error())
            return -EFAULT;
        wall_clock::set_ns(static_cast<u64>(got.value().tv_sec) * NS_PER_SECOND +
                           static_cast<u64>(got.value().tv_usec) * 1000);
    }
    return 0;
}

long sys_time(u64 tloc, u64, u64, u64, u64, u64)
{
    long seconds = static_cast<long>(wall_clock::now_ns() / NS_PER_SECOND);
    if (tloc && user::put_user(reinterpret_cast<long*>(tloc), seconds).is_error())
        return -EFAULT;
    return seconds;
}

// --- sleeping --------------------------------------------------------------------

// Sleep on `clock` until its reading reaches deadline (a realtime deadline
// is turned into a monotonic one: the wall clock is only moved by
// clock_settime here). True if reached, false if a signal came first.
bool sleep_until(ClockKind kind, u64 deadline)
{
    u64 monotonic_deadline = deadline;
    if (kind == ClockKind::Realtime) {
        u64 now = wall_clock::now_ns();
        monotonic_deadline = deadline > now ? sched::deadline_after(deadline - now) : 0;
    }
    return sched::sleep_until_interruptible(monotonic_deadline);
}

// The restart block's continuation (restart_syscall after a stop/continue
// or an ignored signal): sleep to the same deadline.
long resume_nanosleep(proc::RestartBlock& block);

long relative_sleep(ClockKind kind, int clock, u64 duration_ns, u64 remaining_out)
{
    u64 base = kind == ClockKind::Realtime ? wall_clock::now_ns() : clock_ns();
    u64 deadline = duration_ns > ~0ul - base ? ~0ul : base + duration_ns;
    if (sleep_until(kind, deadline))
        return 0;
    u64 now = kind == ClockKind::Realtime ? wall_clock::now_ns() : clock_ns();
    if (remaining_out && put_timespec(remaining_out, deadline > now ? deadline - now : 0) != 0)
        return -EFAULT;
    proc::RestartBlock& block = proc::current_task()->signals.restart;
    block.resume = resume_nanosleep;
    block.deadline_ns = deadline;
    block.clock = clock;
    block.remaining_out = remaining_out;
    return -ERESTART_RESTARTBLOCK;
}

long resume_nanosleep(proc::RestartBlock& block)
{
    ClockKind kind = kind_of(block.clock);
    u64 deadline = block.deadline_ns;
    if (sleep_until(kind, deadline))
        return 0;
    u64 now = read_clock(kind);
    if (block.remaining_out && put_timespec(block.remaining_out, deadline > now ? deadline - now : 0) != 0)
        return -EFAULT;
    block.resume = resume_nanosleep;
    return -ERESTART_RESTARTBLOCK;
}

long sys_nanosleep(u64 request, u64 remaining, u64, u64, u64, u64)
{
    auto ns = get_timespec_ns(request);
    if (ns.is_error())
        return -static_cast<long>(ns.error().code());
    proc::current_task()->signals.restart = {};
    return relative_sleep(ClockKind::Monotonic, CLOCK_MONOTONIC, ns.value(), remaining);
}

long sys_clock_nanosleep(u64 clock_arg, u64 flags, u64 request, u64 remaining, u64, u64)
{
    i32 clock = static_cast<i32>(clock_arg);
    ClockKind kind = kind_of(clock);
    if (kind == ClockKind::Invalid || kind == ClockKind::ThreadCpu)
        return -EINVAL;
    // Clocks without a sleep in Linux's table (MONOTONIC_RAW, the coarse
    // ones): EOPNOTSUPP. Sleeping on the process's CPU time is not offered.
    if (clock == CLOCK_MONOTONIC_RAW || kind == ClockKind::Coarse || kind == ClockKind::CoarseRealtime ||
        kind == ClockKind::ProcessCpu)
        return -EOPNOTSUPP;
    auto ns = get_timespec_ns(request);
    if (ns.is_error())
        return -static_cast<long>(ns.error().code());
    proc::current_task()->signals.restart = {};
    if (flags & TIMER_ABSTIME) {
        // An absolute sleep restarts as it was (no time to hand back).
        return sleep_until(kind, ns.value()) ? 0 : -ERESTARTNOHAND;
    }
    return relative_sleep(kind, clock, ns.value(), remaining);
}

} // namespace

void register_time_syscalls()
{
    register_syscall(__NR_clock_gettime, "clock_gettime", sys_clock_gettime);
    register_syscall(__NR_clock_getres, "clock_getres", sys_clock_getres);
    register_syscall(__NR_clock_settime, "clock_settime", sys_clock_settime);
    register_syscall(__NR_gettimeofday, "gettimeofday", sys_gettimeofday);
    register_syscall(__NR_settimeofday, "settimeofday", sys_settimeofday);
    register_syscall(__NR_time, "time", sys_time);
    register_syscall(__NR_nanosleep, "nanosleep", sys_nanosleep);
    register_syscall(__NR_clock_nanosleep, "clock_nanosleep", sys_clock_nanosleep);
}

} // namespace sys
