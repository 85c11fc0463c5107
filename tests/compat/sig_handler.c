/* Handlers: SA_SIGINFO with si_signo/si_code/si_pid/si_value, a plain
 * handler, SA_RESETHAND, SA_NODEFER, the mask inside a handler, and
 * sigaction's errors. */
#include "sig_util.h"

static volatile int got_signal, got_code, got_pid_ok, got_value, depth, max_depth;
static volatile sigset_t inside_mask;

static void info_handler(int sig, siginfo_t* info, void* context)
{
    (void)context;
    got_signal = sig;
    got_code = info->si_code;
    got_pid_ok = info->si_pid == getpid();
    got_value = info->si_value.sival_int;
    sigprocmask(SIG_BLOCK, NULL, (sigset_t*)&inside_mask);
}

static volatile int plain_count;
static void plain_handler(int sig) { plain_count += sig; }

static volatile int entries;
static void nested_handler(int sig)
{
    depth++;
    entries++;
    if (depth > max_depth)
        max_depth = depth;
    if (entries < 3)
        raise(sig);
    depth--;
}

int main(void)
{
    setup_output();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = info_handler;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGUSR2);
    report("sigaction USR1", sigaction(SIGUSR1, &sa, NULL));

    kill(getpid(), SIGUSR1);
    printf("kill: signal %d code %d pid-is-self %d\n", got_signal, got_code, got_pid_ok);
    printf("inside: USR1 blocked %d USR2 blocked %d INT blocked %d\n", sigismember((sigset_t*)&inside_mask, SIGUSR1),
           sigismember((sigset_t*)&inside_mask, SIGUSR2), sigismember((sigset_t*)&inside_mask, SIGINT));
    sigset_t now;
    sigprocmask(SIG_BLOCK, NULL, &now);
    printf("after: USR1 blocked %d USR2 blocked %d\n", sigismember(&now, SIGUSR1), sigismember(&now, SIGUSR2));

    got_signal = 0;
    union sigval value = {.sival_int = 4242};
    report("sigqueue", sigqueue(getpid(), SIGUSR1, value));
    printf("sigqueue: signal %d code %d (SI_QUEUE %d) value %d pid-is-self %d\n", got_signal, got_code, SI_QUEUE,
           got_value, got_pid_ok);

    got_signal = 0;
    raise(SIGUSR1);
    printf("raise: signal %d code %d (SI_TKILL %d)\n", got_signal, got_code, SI_TKILL);

    /* A plain handler, and the old action read back. */
    struct sigaction old;
    signal(SIGUSR2, plain_handler);
    sigaction(SIGUSR2, NULL, &old);
    printf("old USR2: is plain handler %d SA_SIGINFO %d\n", old.sa_handler == plain_handler,
           (old.sa_flags & SA_SIGINFO) != 0);
    raise(SIGUSR2);
    raise(SIGUSR2);
    printf("plain count %d\n", plain_count);

    /* SA_RESETHAND: the second one takes the default action (here: ignore). */
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = plain_handler;
    sa.sa_flags = SA_RESETHAND;
    sigaction(SIGCHLD, &sa, NULL);
    plain_count = 0;
    raise(SIGCHLD);
    raise(SIGCHLD);
    sigaction(SIGCHLD, NULL, &old);
    printf("resethand: count %d now default %d\n", plain_count, old.sa_handler == SIG_DFL);

    /* SA_NODEFER: the handler re-enters itself; without it the nested raise
     * waits until the handler returns. */
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = nested_handler;
    sa.sa_flags = SA_NODEFER;
    sigaction(SIGURG, &sa, NULL);
    raise(SIGURG);
    printf("nodefer: max depth %d\n", max_depth);
    sa.sa_flags = 0;
    sigaction(SIGURG, &sa, NULL);
    depth = max_depth = entries = 0;
    raise(SIGURG);
    printf("deferred: max depth %d entries %d\n", max_depth, entries);

    /* Errors. */
    sa.sa_handler = plain_handler;
    report("sigaction KILL", sigaction(SIGKILL, &sa, NULL));
    report("sigaction STOP", sigaction(SIGSTOP, &sa, NULL));
    report("sigaction 0", sigaction(0, &sa, NULL));
    report("sigaction 65", sigaction(65, &sa, NULL));
    report("sigaction KILL query", sigaction(SIGKILL, NULL, &old));
    report("rt_sigaction bad pointer", syscall(SYS_rt_sigaction, SIGUSR1, (void*)8, NULL, 8));
    report("rt_sigaction kernel pointer", syscall(SYS_rt_sigaction, SIGUSR1, NULL, (void*)0xffffffff80000000ul, 8));
    /* raw: sigsetsize must be 8 */
    report("rt_sigaction size 4", syscall(13, SIGUSR1, NULL, NULL, 4));
    report("rt_sigprocmask size 16", syscall(14, SIG_BLOCK, NULL, NULL, 16));
    sigset_t set;
    sigemptyset(&set);
    report("sigprocmask how 7", sigprocmask(7, &set, NULL));
    report("sigprocmask how 7 null set", syscall(14, 7, NULL, NULL, 8));
    /* KILL and STOP cannot be blocked. */
    sigfillset(&set);
    sigprocmask(SIG_SETMASK, &set, NULL);
    sigprocmask(SIG_SETMASK, NULL, &now);
    printf("fill: KILL blocked %d STOP blocked %d USR1 blocked %d\n", sigismember(&now, SIGKILL),
           sigismember(&now, SIGSTOP), sigismember(&now, SIGUSR1));
    return 0;
}
