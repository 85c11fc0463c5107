/* Reads and writes through the ring on a file in the working directory:
 * WRITE, READ (a short read at the end of the file, the file position with
 * offset -1), WRITEV/READV, FSYNC (and its bad flags), a linked write ->
 * fsync -> read, a failing read cancelling its link, and the errors a CQE
 * carries: bad fd, a file not open for that direction, a bad buffer, a
 * directory. */
#include "uring_util.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>

static void submit_one(struct io_uring* ring, const char* tag)
{
    io_uring_submit(ring);
    reap(ring, tag, 1);
}

int main(void)
{
    struct io_uring ring;
    if (io_uring_queue_init(8, &ring, 0) < 0)
        return 1;
    int fd = open("data", O_RDWR | O_CREAT | O_TRUNC, 0644);
    static char text[] = "hello io_uring, from the ring";
    char buffer[64];

    struct io_uring_sqe* sqe = get_sqe(&ring);
    io_uring_prep_write(sqe, fd, text, sizeof(text) - 1, 0);
    sqe->user_data = 1;
    submit_one(&ring, "write");

    memset(buffer, 0, sizeof(buffer));
    sqe = get_sqe(&ring);
    io_uring_prep_read(sqe, fd, buffer, 5, 6);
    sqe->user_data = 2;
    submit_one(&ring, "read 5 at 6");
    printf("got [%s]\n", buffer);

    memset(buffer, 0, sizeof(buffer));
    sqe = get_sqe(&ring);
    io_uring_prep_read(sqe, fd, buffer, 64, 20);
    sqe->user_data = 3;
    submit_one(&ring, "read past end");
    printf("got [%s]\n", buffer);

    sqe = get_sqe(&ring);
    io_uring_prep_read(sqe, fd, buffer, 64, 100);
    sqe->user_data = 4;
    submit_one(&ring, "read at 100");

    /* offset -1: the file position, which moves. */
    lseek(fd, 0, SEEK_SET);
    memset(buffer, 0, sizeof(buffer));
    sqe = get_sqe(&ring);
    io_uring_prep_read(sqe, fd, buffer, 5, -1);
    sqe->user_data = 5;
    submit_one(&ring, "read at position");
    printf("got [%s], position %ld\n", buffer, (long)lseek(fd, 0, SEEK_CUR));

    char a[4] = "AAAA", b[6] = "BBBBBB";
    struct iovec wv[2] = { { a, 4 }, { b, 6 } };
    sqe = get_sqe(&ring);
    io_uring_prep_writev(sqe, fd, wv, 2, 40);
    sqe->user_data = 6;
    submit_one(&ring, "writev");
    char c[3], d[7];
    struct iovec rv[2] = { { c, 3 }, { d, 7 } };
    sqe = get_sqe(&ring);
    io_uring_prep_readv(sqe, fd, rv, 2, 40);
    sqe->user_data = 7;
    submit_one(&ring, "readv");
    printf("got [%.3s][%.7s]\n", c, d);
    struct stat st;
    fstat(fd, &st);
    printf("size %ld\n", (long)st.st_size);

    sqe = get_sqe(&ring);
    io_uring_prep_fsync(sqe, fd, 0);
    sqe->user_data = 8;
    submit_one(&ring, "fsync");
    sqe = get_sqe(&ring);
    io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
    sqe->user_data = 9;
    submit_one(&ring, "fdatasync");
    sqe = get_sqe(&ring);
    io_uring_prep_fsync(sqe, fd, 2);
    sqe->user_data = 10;
    submit_one(&ring, "fsync bad flags");

    /* write -> fsync -> read, linked */
    sqe = get_sqe(&ring);
    io_uring_prep_write(sqe, fd, "LINK", 4, 0);
    sqe->user_data = 11;
    sqe->flags = IOSQE_IO_LINK;
    sqe = get_sqe(&ring);
    io_uring_prep_fsync(sqe, fd, 0);
    sqe->user_data = 12;
    sqe->flags = IOSQE_IO_LINK;
    memset(buffer, 0, sizeof(buffer));
    sqe = get_sqe(&ring);
    io_uring_prep_read(sqe, fd, buffer, 4, 0);
    sqe->user_data = 13;
    io_uring_submit(&ring);
    reap(&ring, "linked", 3);
    printf("got [%s]\n", buffer);

    /* A short read breaks its link; a bad fd too. */
    sqe = get_sqe(&ring);
    io_uring_prep_read(sqe, fd, buffer, 64, 0);
    sqe->user_data = 14;
    sqe->flags = IOSQE_IO_LINK;
    sqe = get_sqe(&ring);
    io_uring_prep_nop(sqe);
    sqe->user_data = 15;
    io_uring_submit(&ring);
    reap(&ring, "short read link", 2);
    sqe = get_sqe(&ring);
    io_uring_prep_read(sqe, 99, buffer, 4, 0);
    sqe->user_data = 16;
    sqe->flags = IOSQE_IO_LINK;
    sqe = get_sqe(&ring);
    io_uring_prep_nop(sqe);
    sqe->user_data = 17;
    io_uring_submit(&ring);
    reap(&ring, "bad fd link", 2);
    sqe = get_sqe(&ring);
    io_uring_prep_read(sqe, 99, buffer, 4, 0);
    sqe->user_data = 18;
    sqe->flags = IOSQE_IO_HARDLINK;
    sqe = get_sqe(&ring);
    io_uring_prep_nop(sqe);
    sqe->user_data = 19;
    io_uring_submit(&ring);
    reap(&ring, "bad fd hardlink", 2);

    /* Errors in the CQE. */
    int rdonly = open("data", O_RDONLY);
    sqe = get_sqe(&ring);
    io_uring_prep_write(sqe, rdonly, "x", 1, 0);
    sqe->user_data = 20;
    submit_one(&ring, "write on O_RDONLY");
    sqe = get_sqe(&ring);
    io_uring_prep_read(sqe, fd, (void*)16, 4, 0);
    sqe->user_data = 21;
    submit_one(&ring, "read into a bad buffer");
    mkdir("dir", 0755);
    int dir = open("dir", O_RDONLY | O_DIRECTORY);
    sqe = get_sqe(&ring);
    io_uring_prep_read(sqe, dir, buffer, 4, 0);
    sqe->user_data = 22;
    submit_one(&ring, "read a directory");
    sqe = get_sqe(&ring);
    io_uring_prep_read(sqe, fd, buffer, 0, 0);
    sqe->user_data = 23;
    submit_one(&ring, "read 0 bytes");
    io_uring_queue_exit(&ring);
    return 0;
}
