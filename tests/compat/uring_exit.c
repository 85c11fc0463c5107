/* Teardown with I/O in flight: O_DIRECT reads, buffered reads of dropped
 * pages, an fsync and a write on the worker pool are submitted, and the
 * process exits without waiting for them (and without io_uring_queue_exit).
 * The exit must complete or cancel every request and end the process; a
 * second process then reads the file back. */
#include "uring_util.h"
#include <fcntl.h>
#include <sys/wait.h>

static char w[65536], r[8][8192] __attribute__((aligned(4096)));

int main(void)
{
    for (int i = 0; i < 65536; i++)
        w[i] = (char)(i * 3);
    int fd = open("e", O_RDWR | O_CREAT | O_TRUNC, 0644);
    pwrite(fd, w, sizeof(w), 0);
    fsync(fd);
    close(fd);
    for (int round = 0; round < 3; round++) {
        pid_t child = fork();
        if (child == 0) {
            struct io_uring ring;
            if (io_uring_queue_init(16, &ring, 0) < 0)
                _exit(1);
            int direct = open("e", O_RDONLY | O_DIRECT);
            int buffered = open("e", O_RDWR);
            posix_fadvise(buffered, 0, 0, POSIX_FADV_DONTNEED);
            for (int i = 0; i < 4; i++)
                io_uring_prep_read(get_sqe(&ring), direct, r[i], 8192, i * 8192);
            for (int i = 4; i < 8; i++)
                io_uring_prep_read(get_sqe(&ring), buffered, r[i], 8192, i * 8192);
            io_uring_prep_fsync(get_sqe(&ring), buffered, 0);
            io_uring_prep_write(get_sqe(&ring), buffered, w, 4096, 0);
            io_uring_submit(&ring);
            _exit(0);
        }
        int status;
        waitpid(child, &status, 0);
        printf("round %d: child exited %d\n", round, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    }
    char back[65536];
    fd = open("e", O_RDONLY);
    long got = (long)pread(fd, back, sizeof(back), 0);
    printf("read back: %ld, same: %d\n", got, memcmp(back, w, sizeof(w)) == 0);
    return 0;
}
