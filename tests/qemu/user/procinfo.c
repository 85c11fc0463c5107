/* The small process syscalls, compared with Linux: identity, process groups
 * and sessions, the working directory, umask, limits, prctl names,
 * getrandom, arch_prctl, CPU affinity (the thread really moves: getcpu
 * says so) and CPU-time accounting. Lines start with "T: ". */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/times.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

static void show(const char* what, long result)
{
    if (result < 0)
        printf("T: %s: -1 %s\n", what, strerror(errno));
    else
        printf("T: %s: %ld\n", what, result);
}

static void busy(void)
{
    for (volatile long i = 0; i < 30000000; i++)
        ;
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    struct utsname u;
    uname(&u);
    printf("T: uname: %s %s\n", u.sysname, u.machine);
    printf("T: uid %d euid %d gid %d egid %d groups %d\n", getuid(), geteuid(), getgid(), getegid(),
           getgroups(0, NULL));

    char cwd[256];
    show("chdir /dev", chdir("/dev"));
    printf("T: getcwd: %s\n", getcwd(cwd, sizeof cwd));
    show("chdir ..", chdir(".."));
    printf("T: getcwd: %s\n", getcwd(cwd, sizeof cwd));
    show("chdir /proc/../dev/./", chdir("/proc/../dev/./"));
    printf("T: getcwd: %s\n", getcwd(cwd, sizeof cwd));
    show("chdir missing", chdir("/no/such/dir"));
    show("chdir a device", chdir("/dev/null"));
    show("getcwd small buffer", (long)syscall(SYS_getcwd, cwd, 2));
    chdir("/");

    show("umask(027)", umask(027));
    show("umask(022)", umask(022));

    struct rlimit limit;
    getrlimit(RLIMIT_STACK, &limit);
    printf("T: RLIMIT_STACK soft %lu MiB\n", (unsigned long)(limit.rlim_cur >> 20));
    limit.rlim_cur = 4 << 20;
    show("setrlimit(STACK, 4 MiB)", setrlimit(RLIMIT_STACK, &limit));
    getrlimit(RLIMIT_STACK, &limit);
    printf("T: RLIMIT_STACK soft now %lu MiB\n", (unsigned long)(limit.rlim_cur >> 20));
    limit.rlim_cur = limit.rlim_max + 1;
    if (limit.rlim_max != RLIM_INFINITY)
        show("setrlimit soft > hard", setrlimit(RLIMIT_STACK, &limit));
    show("getrlimit(bad resource)", getrlimit(99, &limit));

    char name[32] = {0};
    prctl(PR_SET_NAME, "a-rather-long-thread-name");
    prctl(PR_GET_NAME, name);
    printf("T: prctl name: %s\n", name);
    show("prctl(unknown)", prctl(12345, 0, 0, 0, 0));

    unsigned char random_bytes[64];
    show("getrandom 64", syscall(SYS_getrandom, random_bytes, sizeof random_bytes, 0));
    show("getrandom bad flags", syscall(SYS_getrandom, random_bytes, 8, 0x100));
    unsigned long fs = 0;
    syscall(SYS_arch_prctl, 0x1003, &fs);
    printf("T: FS base set by libc: %s\n", fs ? "yes" : "no");

    pid_t pid = getpid();
    printf("T: pgid == pid (init): %s, sid == pid: %s\n", getpgid(0) == pid ? "yes" : "no",
           getsid(0) == pid ? "yes" : "no");
    show("setsid as a group leader", setsid());
    int fds_ready[2];
    (void)fds_ready;
    pid_t child = fork();
    if (child == 0) {
        pid_t me = getpid();
        printf("T: child pgid is the parent's: %s\n", getpgid(0) == getppid() ? "yes" : "no");
        pid_t sid = setsid();
        printf("T: child setsid: %s, pgid %s\n", sid == me ? "own session" : "failed",
               getpgid(0) == me ? "own" : "other");
        show("child setpgid after setsid", setpgid(0, 0));
        _exit(0);
    }
    int status;
    waitpid(child, &status, 0);
    child = fork();
    if (child == 0) {
        usleep(20000);
        _exit(0);
    }
    show("setpgid(child, child)", setpgid(child, child) == 0 ? 0 : -1);
    printf("T: child's pgid is its pid: %s\n", getpgid(child) == child ? "yes" : "no");
    show("setpgid(child, missing group)", setpgid(child, 30000));
    show("setpgid(not a child)", setpgid(30002, 30002));
    show("getpgid(missing)", getpgid(30001));
    waitpid(child, &status, 0);

    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(1, &set);
    show("sched_setaffinity(cpu 1)", sched_setaffinity(0, sizeof set, &set));
    int on1 = 1;
    for (int i = 0; i < 20; i++) {
        busy();
        on1 &= sched_getcpu() == 1;
    }
    printf("T: stayed on cpu 1: %s\n", on1 ? "yes" : "no");
    CPU_ZERO(&set);
    sched_getaffinity(0, sizeof set, &set);
    printf("T: affinity count %d, cpu 1 set %d\n", CPU_COUNT(&set), CPU_ISSET(1, &set) ? 1 : 0);
    CPU_ZERO(&set);
    CPU_SET(0, &set);
    show("sched_setaffinity(cpu 0)", sched_setaffinity(0, sizeof set, &set));
    printf("T: now on cpu %d\n", sched_getcpu());
    CPU_ZERO(&set);
    show("sched_setaffinity(empty)", sched_setaffinity(0, sizeof set, &set));
    show("sched_getaffinity(short)", syscall(SYS_sched_getaffinity, 0, 4, &set));

    struct rusage usage;
    busy();
    getrusage(RUSAGE_SELF, &usage);
    printf("T: self used cpu time: %s\n", usage.ru_utime.tv_sec * 1000000 + usage.ru_utime.tv_usec > 1000 ? "yes" : "no");
    child = fork();
    if (child == 0) {
        busy();
        busy();
        _exit(0);
    }
    waitpid(child, &status, 0);
    getrusage(RUSAGE_CHILDREN, &usage);
    printf("T: children used cpu time: %s\n",
           usage.ru_utime.tv_sec * 1000000 + usage.ru_utime.tv_usec > 1000 ? "yes" : "no");
    struct tms t;
    clock_t now = times(&t);
    printf("T: times: ticks advance %s, cutime > 0: %s\n", now > 0 ? "yes" : "no", t.tms_cutime > 0 ? "yes" : "no");
    show("getrusage(bad who)", getrusage(5, &usage));
    return 0;
}
