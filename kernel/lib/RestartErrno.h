// The kernel-internal errno values of an interrupted system call (Linux
// include/linux/errno.h). A sleeping syscall that a signal interrupts
// returns one of these; the signal layer, on the way back to user mode,
// turns it into -EINTR or restarts the syscall, so user space never sees
// them:
//
//   ERESTARTSYS            EINTR if a handler without SA_RESTART runs, else
//                          restarted (read, wait4, futex wait without timeout)
//   ERESTARTNOINTR         always restarted
//   ERESTARTNOHAND         EINTR if a handler runs, else restarted (pause,
//                          sigsuspend, timed futex waits)
//   ERESTART_RESTARTBLOCK  EINTR if a handler runs, else restart_syscall(2)
//                          resumes it from its restart block (nanosleep with
//                          the time that is left)
#pragma once

constexpr int ERESTARTSYS = 512;
constexpr int ERESTARTNOINTR = 513;
constexpr int ERESTARTNOHAND = 514;
constexpr int ERESTART_RESTARTBLOCK = 516;

constexpr bool is_restart_errno(long error)
{
    return error == -ERESTARTSYS || error == -ERESTARTNOINTR || error == -ERESTARTNOHAND ||
           error == -ERESTART_RESTARTBLOCK;
}
