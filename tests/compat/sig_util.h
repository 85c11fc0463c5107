/* Shared helpers of the signal and time compat programs. Output is line
 * buffered (the same on a pipe and a tty) and flushed before every fork. */
#ifndef SIG_UTIL_H
#define SIG_UTIL_H
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <unistd.h>

static inline void setup_output(void) { setvbuf(stdout, NULL, _IOLBF, 0); }

static inline pid_t fork_flushed(void)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        printf("fork: %s\n", strerror(errno));
        exit(1);
    }
    return pid;
}

/* "exited 3", "killed by 11", "killed by 6 (core)", "stopped by 19", "continued". */
static inline void describe_status(const char* what, int status)
{
    if (WIFEXITED(status))
        printf("%s: exited %d\n", what, WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        printf("%s: killed by %d%s\n", what, WTERMSIG(status), WCOREDUMP(status) ? " (core)" : "");
    else if (WIFSTOPPED(status))
        printf("%s: stopped by %d\n", what, WSTOPSIG(status));
    else if (WIFCONTINUED(status))
        printf("%s: continued\n", what);
    else
        printf("%s: status %#x\n", what, status);
}

static inline void wait_and_describe(pid_t pid, const char* what)
{
    int status;
    pid_t got = waitpid(pid, &status, 0);
    if (got != pid) {
        printf("%s: waitpid %d: %s\n", what, (int)got, strerror(errno));
        return;
    }
    describe_status(what, status);
}

/* A syscall's result as "ok" / "-1 ENAME". */
static inline const char* errno_name(int e)
{
    switch (e) {
    case 0: return "0";
    case EINTR: return "EINTR";
    case EINVAL: return "EINVAL";
    case EFAULT: return "EFAULT";
    case EPERM: return "EPERM";
    case ESRCH: return "ESRCH";
    case EAGAIN: return "EAGAIN";
    case ECHILD: return "ECHILD";
    case ENOMEM: return "ENOMEM";
    case ENOSYS: return "ENOSYS";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    default: return "other";
    }
}

static inline void report(const char* what, long r)
{
    if (r < 0)
        printf("%s: -1 %s\n", what, errno_name(errno));
    else
        printf("%s: %ld\n", what, r);
}

#endif
