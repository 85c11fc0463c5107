/* pipe and pipe2: data through, EOF when the writers are gone, EPIPE when
 * the readers are (SIGPIPE ignored), O_NONBLOCK (EAGAIN, filling to the
 * 64 KiB capacity), F_GETPIPE_SZ, FIONREAD, ESPIPE for seeks, a child
 * writing to its parent, and the errors. */
#define _GNU_SOURCE
#include "fs_util.h"
#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    int p[2];
    SHOW("pipe", pipe(p));
    printf("fds %d %d\n", p[0], p[1]);
    struct stat st;
    fstat(p[0], &st);
    printf("fifo %d mode %o\n", S_ISFIFO(st.st_mode), st.st_mode & 0777);
    printf("F_GETFL read end %o write end %o\n", fcntl(p[0], F_GETFL), fcntl(p[1], F_GETFL));
    SHOW("write 5", write(p[1], "hello", 5));
    int queued = -1;
    SHOW("FIONREAD", ioctl(p[0], FIONREAD, &queued));
    printf("queued %d\n", queued);
    char buffer[70000];
    SHOW("read 3", read(p[0], buffer, 3));
    SHOW("read rest", read(p[0], buffer, sizeof buffer));
    SHOW("write to read end", write(p[0], "x", 1));
    SHOW("read from write end", read(p[1], buffer, 1));
    SHOW("lseek", lseek(p[0], 0, SEEK_SET));
    SHOW("pread", pread(p[0], buffer, 1, 0));
    SHOW("pwrite", pwrite(p[1], "x", 1, 0));
    SHOW("F_GETPIPE_SZ", fcntl(p[0], F_GETPIPE_SZ));
    SHOW("close write end", close(p[1]));
    SHOW("read at EOF", read(p[0], buffer, 1));
    close(p[0]);

    /* no readers: EPIPE */
    pipe(p);
    close(p[0]);
    SHOW("write without readers", write(p[1], "x", 1));
    close(p[1]);

    /* with SIGPIPE's default action the writer dies of it */
    pipe(p);
    close(p[0]);
    pid_t writer = fork();
    if (writer == 0) {
        signal(SIGPIPE, SIG_DFL);
        write(p[1], "x", 1);
        _exit(0);
    }
    int wstatus;
    waitpid(writer, &wstatus, 0);
    printf("writer killed: %d by signal %d\n", WIFSIGNALED(wstatus), WIFSIGNALED(wstatus) ? WTERMSIG(wstatus) : 0);
    close(p[1]);

    /* O_NONBLOCK */
    SHOW("pipe2 O_NONBLOCK|O_CLOEXEC", pipe2(p, O_NONBLOCK | O_CLOEXEC));
    printf("F_GETFD %d F_GETFL %o\n", fcntl(p[0], F_GETFD), fcntl(p[0], F_GETFL));
    SHOW("read empty nonblocking", read(p[0], buffer, 1));
    long total = 0;
    memset(buffer, 'a', sizeof buffer);
    for (;;) {
        long n = write(p[1], buffer, 10000);
        if (n < 0) {
            printf("filled: %ld then %s\n", total, errno_name(errno));
            break;
        }
        total += n;
    }
    SHOW("write 1 when full", write(p[1], "x", 1));
    SHOW("read 4096", read(p[0], buffer, 4096));
    SHOW("write 5000 with 4096 free (partial)", write(p[1], buffer, 5000));
    SHOW("read all", read(p[0], buffer, sizeof buffer));
    SHOW("read again", read(p[0], buffer, sizeof buffer));
    close(p[0]);
    close(p[1]);

    SHOW("pipe2 bad flags", pipe2(p, O_APPEND));
    SHOW("pipe NULL", syscall(SYS_pipe, NULL));
    SHOW("pipe kernel address", syscall(SYS_pipe2, (void*)0xffff800000000000ul, 0));

    /* a child writes 200000 bytes, the parent reads until EOF */
    pipe(p);
    pid_t child = fork();
    if (child == 0) {
        close(p[0]);
        memset(buffer, 'z', sizeof buffer);
        long left = 200000;
        while (left > 0) {
            long n = write(p[1], buffer, left > 30000 ? 30000 : left);
            if (n <= 0)
                _exit(1);
            left -= n;
        }
        _exit(0);
    }
    close(p[1]);
    long got = 0, n;
    int bad = 0;
    while ((n = read(p[0], buffer, 7777)) > 0) {
        for (long i = 0; i < n; i++)
            bad |= buffer[i] != 'z';
        got += n;
    }
    int status;
    waitpid(child, &status, 0);
    printf("parent read %ld bytes, all z: %d, child status %d\n", got, !bad, WEXITSTATUS(status));
    close(p[0]);

    /* dup'd ends keep the pipe open */
    pipe(p);
    int extra = dup(p[1]);
    close(p[1]);
    write(extra, "y", 1);
    SHOW("read through dup'd writer", read(p[0], buffer, 10));
    close(extra);
    SHOW("EOF after last writer", read(p[0], buffer, 10));
    return 0;
}
