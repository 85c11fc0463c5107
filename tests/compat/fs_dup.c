/* dup, dup2, dup3, fcntl(F_DUPFD, F_DUPFD_CLOEXEC, F_GETFD, F_SETFD, F_GETFL,
 * F_SETFL), close and close_range: shared positions and status flags,
 * descriptor flags per descriptor, and the error cases. */
#define _GNU_SOURCE
#include "fs_util.h"
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
    int fd = open("f", O_CREAT | O_RDWR | O_TRUNC, 0644);
    write(fd, "0123456789", 10);
    printf("fd %d\n", fd);
    int d = dup(fd);
    printf("dup: %d\n", d);
    lseek(fd, 3, SEEK_SET);
    SHOW("shared position", lseek(d, 0, SEEK_CUR));
    SHOW("dup bad", dup(999));
    SHOW("dup -1", dup(-1));
    SHOW("dup2 to 10", dup2(fd, 10));
    SHOW("dup2 same", dup2(fd, fd));
    SHOW("dup2 same bad", dup2(50, 50));
    SHOW("dup2 bad old", dup2(999, 11));
    SHOW("dup2 huge new", dup2(fd, 1 << 20));
    SHOW("dup2 negative new", dup2(fd, -1));
    SHOW("dup3 to 11", dup3(fd, 11, O_CLOEXEC));
    SHOW("dup3 11 FD_CLOEXEC", fcntl(11, F_GETFD));
    SHOW("dup3 same", dup3(fd, fd, 0));
    SHOW("dup3 bad flags", dup3(fd, 12, O_APPEND));
    SHOW("dup2 over 11", dup2(fd, 11));
    SHOW("dup2 11 FD_CLOEXEC", fcntl(11, F_GETFD));

    SHOW("F_DUPFD 20", fcntl(fd, F_DUPFD, 20));
    SHOW("F_DUPFD 20 again", fcntl(fd, F_DUPFD, 20));
    SHOW("F_DUPFD_CLOEXEC 0", fcntl(fd, F_DUPFD_CLOEXEC, 0));
    SHOW("F_GETFD of it", fcntl(5, F_GETFD));
    SHOW("F_DUPFD negative", fcntl(fd, F_DUPFD, -1));
    SHOW("F_DUPFD huge", fcntl(fd, F_DUPFD, 1 << 20));
    SHOW("F_SETFD 1", fcntl(fd, F_SETFD, FD_CLOEXEC));
    SHOW("F_GETFD", fcntl(fd, F_GETFD));
    SHOW("F_GETFD dup", fcntl(d, F_GETFD));
    SHOW("F_SETFD 0", fcntl(fd, F_SETFD, 0));
    SHOW("F_SETFD 3 (only bit 0 counts)", fcntl(fd, F_SETFD, 3));
    SHOW("F_GETFD", fcntl(fd, F_GETFD));
    SHOW("F_GETFD bad", fcntl(999, F_GETFD));

    printf("F_GETFL: %o\n", fcntl(fd, F_GETFL));
    SHOW("F_SETFL O_APPEND|O_NONBLOCK", fcntl(fd, F_SETFL, O_APPEND | O_NONBLOCK));
    printf("F_GETFL: %o\n", fcntl(fd, F_GETFL));
    printf("F_GETFL of dup (shared): %o\n", fcntl(d, F_GETFL));
    SHOW("F_SETFL O_RDONLY|O_TRUNC|O_CREAT (ignored)", fcntl(fd, F_SETFL, O_RDONLY | O_TRUNC | O_CREAT));
    printf("F_GETFL: %o\n", fcntl(fd, F_GETFL));
    SHOW("write still allowed", write(fd, "x", 1));
    SHOW("F_SETFL O_APPEND", fcntl(fd, F_SETFL, O_APPEND));
    lseek(fd, 0, SEEK_SET);
    SHOW("write appends", write(fd, "E", 1));
    SHOW("position", lseek(fd, 0, SEEK_CUR));
    SHOW("fcntl unknown command", fcntl(fd, 9999));
    SHOW("fcntl bad fd", fcntl(999, F_GETFL));
    SHOW("F_GETPIPE_SZ on a file", fcntl(fd, F_GETPIPE_SZ));

    /* locks on a file open read-write */
    struct flock lock = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0 };
    SHOW("F_SETLK F_WRLCK", fcntl(fd, F_SETLK, &lock));
    lock.l_type = F_UNLCK;
    SHOW("F_SETLK F_UNLCK", fcntl(fd, F_SETLK, &lock));
    lock.l_type = 7;
    SHOW("F_SETLK bad type", fcntl(fd, F_SETLK, &lock));
    SHOW("F_SETLK NULL", fcntl(fd, F_SETLK, NULL));
    int ro = open("f", O_RDONLY);
    lock.l_type = F_WRLCK;
    SHOW("F_SETLK F_WRLCK on O_RDONLY", fcntl(ro, F_SETLK, &lock));
    lock.l_type = F_RDLCK;
    SHOW("F_GETLK", fcntl(ro, F_GETLK, &lock));
    printf("F_GETLK l_type %d\n", lock.l_type);

    /* close */
    SHOW("close d", close(d));
    SHOW("close d again", close(d));
    SHOW("close -1", close(-1));
    SHOW("lseek after close", lseek(d, 0, SEEK_SET));
    SHOW("original still open", lseek(fd, 0, SEEK_CUR));

    /* close_range */
    SHOW("close_range bad flags", syscall(SYS_close_range, 3, 100, 0x80));
    SHOW("close_range first > last", syscall(SYS_close_range, 10, 3, 0));
    SHOW("close_range CLOEXEC 10..11", syscall(SYS_close_range, 10, 11, 4));
    SHOW("F_GETFD 10", fcntl(10, F_GETFD));
    SHOW("close_range 4..~0", syscall(SYS_close_range, 4, ~0u, 0));
    SHOW("F_GETFD 10 after", fcntl(10, F_GETFD));
    SHOW("F_GETFD 20 after", fcntl(20, F_GETFD));
    SHOW("F_GETFD 3 kept", fcntl(3, F_GETFD));
    return 0;
}
