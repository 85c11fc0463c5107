// Signal syscalls: rt_sigaction, rt_sigprocmask, rt_sigpending,
// rt_sigsuspend, rt_sigtimedwait, rt_sigqueueinfo, rt_tgsigqueueinfo,
// rt_sigreturn, sigaltstack, kill, tkill, tgkill, pause, restart_syscall,
// and the ITIMER_REAL family (alarm, setitimer, getitimer). The mechanism is
// kernel/proc/Signals.h; these copy arguments in and out and check them in
// the order Linux does (kernel/signal.c, kernel/time/itimer.c).
#include "arch/x86_64/mm/UserCopy.h"
#include "kernel/lib/RestartErrno.h"
#include "kernel/proc/Current.h"
#include "kernel/proc/Signals.h"
#include "kernel/sched/Scheduler.h"
#include "kernel/syscall/Table.h"
#include "kernel/time/Clock.h"
#include "uapi/errno.h"
#include "uapi/time.h"
#include "uapi/unistd_64.h"

namespace sys {
namespace {

using proc::pid_t;
using proc::SigSet;

constexpr u64 SIGSET_SIZE = sizeof(SigSet);

long error(const Error& e) { return -static_cast<long>(e.code()); }

long sys_rt_sigaction(u64 signal, u64 new_action, u64 old_action, u64 sigset_size, u64, u64)
{
    if (sigset_size != SIGSET_SIZE)
        return -EINVAL;
    proc::SignalAction action;
    if (new_action) {
        auto got = user::get_user(reinterpret_cast<const uapi::sigaction*>(new_action));
        if (got.is_error())
            return -EFAULT;
        action.handler = reinterpret_cast<u64>(got.value().sa_handler);
        action.flags = got.value().sa_flags;
        action.restorer = reinterpret_cast<u64>(got.value().sa_restorer);
        action.mask = got.value().sa_mask;
    }
    auto old = proc::change_action(static_cast<int>(signal), new_action ? &action : nullptr);
    if (old.is_error())
        return error(old.error());
    if (old_action) {
        uapi::sigaction out{};
        out.sa_handler = reinterpret_cast<void (*)(int)>(old.value().handler);
        out.sa_flags = old.value().flags;
        out.sa_restorer = reinterpret_cast<void (*)()>(old.value().restorer);
        out.sa_mask = old.value().mask;
        if (user::copy_to_user(reinterpret_cast<void*>(old_action), &out, sizeof out).is_error())
            return -EFAULT;
    }
    return 0;
}

long sys_rt_sigprocmask(u64 how, u64 new_set, u64 old_set, u64 sigset_size, u64, u64)
{
    if (sigset_size != SIGSET_SIZE)
        return -EINVAL;
    SigSet old = proc::signal_mask();
    if (new_set) {
        auto got = user::get_user(reinterpret_cast<const SigSet*>(new_set));
        if (got.is_error())
            return -EFAULT;
        SigSet set = got.value();
        switch (static_cast<int>(how)) {
        case SIG_BLOCK:
            proc::set_signal_mask(old | set);
            break;
        case SIG_UNBLOCK:
            proc::set_signal_mask(old & ~set);
            break;
        case SIG_SETMASK:
            proc::set_signal_mask(set);
            break;
        default:
            return -EINVAL;
        }
    }
    if (old_set && user::put_user(reinterpret_cast<SigSet*>(old_set), old).is_error())
        return -EFAULT;
    return 0;
}

long sys_rt_sigpending(u64 set, u64 sigset_size, u64, u64, u64, u64)
{
    if (sigset_size > SIGSET_SIZE)
        return -EINVAL;
    SigSet pending = proc::pending_signals();
    return user::copy_to_user(reinterpret_cast<void*>(set), &pending, sigset_size).is_error() ? -EFAULT : 0;
}

long sys_rt_sigsuspend(u64 set, u64 sigset_size, u64, u64, u64, u64)
{
    if (sigset_size != SIGSET_SIZE)
        return -EINVAL;
    auto got = user::get_user(reinterpret_cast<const SigSet*>(set));
    if (got.is_error())
        return -EFAULT;
    return proc::suspend(got.value());
}

long sys_pause(u64, u64, u64, u64, u64, u64) { return proc::pause(); }

Result<u64> timespec_to_ns(u64 user_timespec)
{
    uapi::timespec ts = TRY(user::get_user(reinterpret_cast<const uapi::timespec*>(user_timespec)));
    if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1'000'000'000)
        return Error::from_errno(EINVAL);
    if (static_cast<u64>(ts.tv_sec) > ~0ul / 1'000'000'000ul - 1)
        return ~0ul;
    return static_cast<u64>(ts.tv_sec) * 1'000'000'000ul + static_cast<u64>(ts.tv_nsec);
}

long sys_rt_sigtimedwait(u64 set, u64 info_out, u64 timeout, u64 sigset_size, u64, u64)
{
    if (sigset_size != SIGSET_SIZE)
        return -EINVAL;
    auto got = user::get_user(reinterpret_cast<const SigSet*>(set));
    if (got.is_error())
        return -EFAULT;
    u64 deadline = ~0ul;
    if (timeout) {
        auto ns = timespec_to_ns(timeout);
        if (ns.is_error())
            return error(ns.error());
        deadline = ns.value() == 0 ? 0 : sched::deadline_after(ns.value());
    }
    uapi::siginfo_t info{};
    long signal = proc::wait_for_signal(got.value(), info, deadline);
    if (signal > 0 && info_out &&
        user::copy_to_user(reinterpret_cast<void*>(info_out), &info, sizeof info).is_error())
        return -EFAULT;
    return signal;
}

long queue_info(pid_t tgid, pid_t tid, u64 signal, u64 user_info)
{
    auto got = user::get_user(reinterpret_cast<const uapi::siginfo_t*>(user_info));
    if (got.is_error())
        return -EFAULT;
    return proc::queue_signal(tgid, tid, static_cast<int>(signal), got.value());
}

long sys_rt_sigqueueinfo(u64 tgid, u64 signal, u64 info, u64, u64, u64)
{
    return queue_info(static_cast<pid_t>(tgid), 0, signal, info);
}

long sys_rt_tgsigqueueinfo(u64 tgid, u64 tid, u64 signal, u64 info, u64, u64)
{
    if (static_cast<pid_t>(tgid) <= 0 || static_cast<pid_t>(tid) <= 0)
        return -EINVAL;
    return queue_info(static_cast<pid_t>(tgid), static_cast<pid_t>(tid), signal, info);
}

long sys_rt_sigreturn(u64, u64, u64, u64, u64, u64) { return proc::signal_return(current_frame()); }

long sys_sigaltstack(u64 new_stack, u64 old_stack, u64, u64, u64, u64)
{
    uapi::stack_t wanted{};
    if (new_stack) {
        auto got = user::get_user(reinterpret_cast<const uapi::stack_t*>(new_stack));
        if (got.is_error())
            return -EFAULT;
        wanted = got.value();
    }
    uapi::stack_t old{};
    long r = proc::alt_stack(new_stack ? &wanted : nullptr, old_stack ? &old : nullptr, current_frame().rsp);
    if (r == 0 && old_stack && user::copy_to_user(reinterpret_cast<void*>(old_stack), &old, sizeof old).is_error())
        return -EFAULT;
    return r;
}

long sys_kill(u64 pid, u64 signal, u64, u64, u64, u64)
{
    return proc::kill(static_cast<pid_t>(pid), static_cast<int>(signal));
}

long sys_tkill(u64 tid, u64 signal, u64, u64, u64, u64)
{
    if (static_cast<pid_t>(tid) <= 0)
        return -EINVAL;
    return proc::kill_thread(0, static_cast<pid_t>(tid), static_cast<int>(signal));
}

long sys_tgkill(u64 tgid, u64 tid, u64 signal, u64, u64, u64)
{
    if (static_cast<pid_t>(tgid) <= 0 || static_cast<pid_t>(tid) <= 0)
        return -EINVAL;
    return proc::kill_thread(static_cast<pid_t>(tgid), static_cast<pid_t>(tid), static_cast<int>(signal));
}

// restart_syscall(2): resume what the restart block describes; without
// one (a stray call) it fails with EINTR, as Linux's do_no_restart_syscall.
long sys_restart_syscall(u64, u64, u64, u64, u64, u64)
{
    proc::RestartBlock& block = proc::current_task()->signals.restart;
    auto resume = block.resume;
    if (!resume)
        return -EINTR;
    block.resume = nullptr;
    return resume(block);
}

// --- ITIMER_REAL -----------------------------------------------------------------

constexpr int ITIMER_REAL_WHICH = ITIMER_REAL;

uapi::timeval timeval_of(u64 ns)
{
    return {static_cast<long>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000 / 1000)};
}

Result<u64> ns_of(const uapi::timeval& tv)
{
    if (tv.tv_sec < 0 || tv.tv_usec < 0 || tv.tv_usec >= 1'000'000)
        return Error::from_errno(EINVAL);
    return static_cast<u64>(tv.tv_sec) * 1'000'000'000ul + static_cast<u64>(tv.tv_usec) * 1000;
}

uapi::itimerval itimerval_of(const proc::RealTimer& timer)
{
    return {timeval_of(timer.interval_ns), timeval_of(timer.value_ns)};
}

long sys_getitimer(u64 which, u64 value_out, u64, u64, u64, u64)
{
    proc::Process& process = *proc::current_process();
    uapi::itimerval value{};
    switch (static_cast<int>(which)) {
    case ITIMER_REAL_WHICH:
        value = itimerval_of(proc::get_real_timer(process));
        break;
    case ITIMER_VIRTUAL:
    case ITIMER_PROF: {
        int i = static_cast<int>(which) - ITIMER_VIRTUAL;
        u64 v = process.signals.cpu_timer_value_us[i], iv = process.signals.cpu_timer_interval_us[i];
        value = {{static_cast<long>(iv / 1'000'000), static_cast<long>(iv % 1'000'000)},
                 {static_cast<long>(v / 1'000'000), static_cast<long>(v % 1'000'000)}};
        break;
    }
    default:
        return -EINVAL;
    }
    return user::copy_to_user(reinterpret_cast<void*>(value_out), &value, sizeof value).is_error() ? -EFAULT : 0;
}

long sys_setitimer(u64 which, u64 new_value, u64 old_value, u64, u64, u64)
{
    uapi::itimerval wanted{};
    // Linux 6.1 still takes a null new value as "disarm".
    if (new_value) {
        auto got = user::get_user(reinterpret_cast<const uapi::itimerval*>(new_value));
        if (got.is_error())
            return -EFAULT;
        wanted = got.value();
    }
    auto value = ns_of(wanted.it_value);
    auto interval = ns_of(wanted.it_interval);
    if (value.is_error() || interval.is_error())
        return -EINVAL;
    proc::Process& process = *proc::current_process();
    uapi::itimerval old{};
    switch (static_cast<int>(which)) {
    case ITIMER_REAL_WHICH:
        old = itimerval_of(proc::set_real_timer(process, {value.value(), value.value() ? interval.value() : 0}));
        break;
    case ITIMER_VIRTUAL:
    case ITIMER_PROF: {
        // Kept and reported back; CPU-time timers do not fire in Sluice.
        int i = static_cast<int>(which) - ITIMER_VIRTUAL;
        u64 v = process.signals.cpu_timer_value_us[i], iv = process.signals.cpu_timer_interval_us[i];
        old = {{static_cast<long>(iv / 1'000'000), static_cast<long>(iv % 1'000'000)},
               {static_cast<long>(v / 1'000'000), static_cast<long>(v % 1'000'000)}};
        process.signals.cpu_timer_value_us[i] = value.value() / 1000;
        process.signals.cpu_timer_interval_us[i] = value.value() ? interval.value() / 1000 : 0;
        break;
    }
    default:
        return -EINVAL;
    }
    if (old_value && user::copy_to_user(reinterpret_cast<void*>(old_value), &old, sizeof old).is_error())
        return -EFAULT;
    return 0;
}

// alarm(2): the seconds left of the previous alarm, rounded as Linux does
// (a remainder of half a second or more, or any remainder under a second,
// counts as one more).
long sys_alarm(u64 seconds, u64, u64, u64, u64, u64)
{
    u32 s = static_cast<u32>(seconds);
    proc::RealTimer old = proc::set_real_timer(*proc::current_process(), {s * 1'000'000'000ul, 0});
    uapi::timeval left = timeval_of(old.value_ns);
    if ((!left.tv_sec && left.tv_usec) || left.tv_usec >= 500'000)
        left.tv_sec++;
    return left.tv_sec;
}

} // namespace

void register_signal_syscalls()
{
    register_syscall(__NR_rt_sigaction, "rt_sigaction", sys_rt_sigaction);
    register_syscall(__NR_rt_sigprocmask, "rt_sigprocmask", sys_rt_sigprocmask);
    register_syscall(__NR_rt_sigpending, "rt_sigpending", sys_rt_sigpending);
    register_syscall(__NR_rt_sigsuspend, "rt_sigsuspend", sys_rt_sigsuspend);
    register_syscall(__NR_rt_sigtimedwait, "rt_sigtimedwait", sys_rt_sigtimedwait);
    register_syscall(__NR_rt_sigqueueinfo, "rt_sigqueueinfo", sys_rt_sigqueueinfo);
    register_syscall(__NR_rt_tgsigqueueinfo, "rt_tgsigqueueinfo", sys_rt_tgsigqueueinfo);
    register_syscall(__NR_rt_sigreturn, "rt_sigreturn", sys_rt_sigreturn);
    register_syscall(__NR_sigaltstack, "sigaltstack", sys_sigaltstack);
    register_syscall(__NR_kill, "kill", sys_kill);
    register_syscall(__NR_tkill, "tkill", sys_tkill);
    register_syscall(__NR_tgkill, "tgkill", sys_tgkill);
    register_syscall(__NR_pause, "pause", sys_pause);
    register_syscall(__NR_restart_syscall, "restart_syscall", sys_restart_syscall);
    register_syscall(__NR_alarm, "alarm", sys_alarm);
    register_syscall(__NR_getitimer, "getitimer", sys_getitimer);
    register_syscall(__NR_setitimer, "setitimer", sys_setitimer);
}

} // namespace sys
