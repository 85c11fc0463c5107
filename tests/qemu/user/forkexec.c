/* fork, exec, wait and exit statuses: the program forks children that exit,
 * exec themselves, die by signal, and vfork; the parent prints what wait
 * reports. Every output line starts with "T: " so that a scenario can pick
 * them out of the console. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void report(const char* what, pid_t pid, int status)
{
    if (pid < 0)
        printf("T: %s: wait failed: %s\n", what, strerror(errno));
    else if (WIFEXITED(status))
        printf("T: %s: exited %d\n", what, WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        printf("T: %s: killed by signal %d\n", what, WTERMSIG(status));
    else
        printf("T: %s: status %#x\n", what, status);
    fflush(stdout);
}

int main(int argc, char** argv)
{
    if (argc >= 3 && strcmp(argv[1], "child") == 0) {
        printf("T: exec'd child: argv[2]=%s, parent is the forker: %s\n", argv[2],
               getppid() == atoi(argv[3]) ? "yes" : "no");
        fflush(stdout);
        return atoi(argv[2]);
    }
    setvbuf(stdout, NULL, _IONBF, 0);
    pid_t self = getpid();
    printf("T: start, pid == tid: %s\n", self == (pid_t)syscall(186) ? "yes" : "no");

    /* A child that exits. */
    pid_t pid = fork();
    if (pid == 0)
        _exit(42);
    int status;
    pid_t waited = waitpid(pid, &status, 0);
    printf("T: waitpid returned the child: %s\n", waited == pid ? "yes" : "no");
    report("fork+_exit(42)", waited, status);

    /* A child that execs this program. */
    pid = fork();
    if (pid == 0) {
        char self_arg[16];
        snprintf(self_arg, sizeof self_arg, "%d", (int)self);
        char* args[] = {argv[0], "child", "7", self_arg, NULL};
        execve(argv[0], args, NULL);
        _exit(99);
    }
    waited = waitpid(pid, &status, 0);
    report("fork+exec", waited, status);

    /* A child that dies of a null pointer write. */
    pid = fork();
    if (pid == 0) {
        *(volatile int*)0 = 1;
        _exit(0);
    }
    waited = waitpid(pid, &status, 0);
    report("null write", waited, status);

    /* Memory after fork is a copy. */
    static int shared_value = 5;
    pid = fork();
    if (pid == 0) {
        shared_value = 6;
        _exit(shared_value);
    }
    waited = waitpid(pid, &status, 0);
    report("child wrote its copy", waited, status);
    printf("T: parent still sees %d\n", shared_value);

    /* vfork + exec. */
    pid = vfork();
    if (pid == 0) {
        char self_arg[16];
        snprintf(self_arg, sizeof self_arg, "%d", (int)self);
        char* args[] = {argv[0], "child", "9", self_arg, NULL};
        execve(argv[0], args, NULL);
        _exit(98);
    }
    waited = waitpid(pid, &status, 0);
    report("vfork+exec", waited, status);

    /* Several children, reaped in any order with wait(). */
    for (int i = 0; i < 3; i++) {
        if (fork() == 0)
            _exit(10 + i);
    }
    int sum = 0;
    for (int i = 0; i < 3; i++) {
        wait(&status);
        sum += WEXITSTATUS(status);
    }
    printf("T: three children, statuses sum to %d\n", sum);

    /* Nothing left to wait for. */
    waited = wait(&status);
    printf("T: wait with no children: %d %s\n", (int)waited, strerror(errno));
    /* WNOHANG with a running child. */
    pid = fork();
    if (pid == 0) {
        for (volatile long i = 0; i < 20000000; i++)
            ;
        _exit(1);
    }
    printf("T: WNOHANG on a running child: %d\n", (int)waitpid(pid, &status, WNOHANG));
    waited = waitpid(pid, &status, 0);
    report("busy child", waited, status);

    /* execve errors. */
    char* none[] = {"x", NULL};
    int r = execve("/does/not/exist", none, NULL);
    printf("T: execve missing: %d %s\n", r, strerror(errno));
    r = execve("/", none, NULL);
    printf("T: execve a directory: %d %s\n", r, strerror(errno));
    printf("T: done\n");
    return 5;
}
