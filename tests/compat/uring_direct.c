/* The asynchronous paths: an O_DIRECT read and write through the ring (bios
 * on the pinned user pages, completed from the device interrupt in Sluice
 * when run on ext2), and a buffered read of pages dropped from the cache
 * (posix_fadvise DONTNEED), which parks on the page until the read of it
 * completes. Data is checked byte for byte. */
#include "uring_util.h"
#include <fcntl.h>

static char w[16384], r[16384] __attribute__((aligned(4096)));

int main(void)
{
    for (int i = 0; i < 16384; i++)
        w[i] = (char)(i * 7 + 3);
    int fd = open("d", O_RDWR | O_CREAT | O_TRUNC, 0644);
    pwrite(fd, w, 16384, 0);
    fsync(fd);
    close(fd);
    struct io_uring ring;
    if (io_uring_queue_init(4, &ring, 0) < 0)
        return 1;

    fd = open("d", O_RDWR | O_DIRECT);
    printf("open O_DIRECT: %d\n", fd >= 0);
    struct io_uring_sqe* s = get_sqe(&ring);
    io_uring_prep_read(s, fd, r, 4096, 4096);
    s->user_data = 1;
    io_uring_submit(&ring);
    reap(&ring, "direct read", 1);
    printf("match: %d\n", memcmp(r, w + 4096, 4096) == 0);
    for (int i = 0; i < 8192; i++)
        r[i] = (char)(i * 5 + 1);
    s = get_sqe(&ring);
    io_uring_prep_write(s, fd, r, 8192, 8192);
    s->user_data = 2;
    io_uring_submit(&ring);
    reap(&ring, "direct write", 1);
    memcpy(w + 8192, r, 8192);
    memset(r, 0, sizeof(r));
    s = get_sqe(&ring);
    io_uring_prep_read(s, fd, r, 16384, 0);
    s->user_data = 3;
    io_uring_submit(&ring);
    reap(&ring, "direct read all", 1);
    printf("match: %d\n", memcmp(r, w, 16384) == 0);
    close(fd);

    fd = open("d", O_RDONLY);
    printf("fadvise: %d\n", posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED));
    memset(r, 0, sizeof(r));
    s = get_sqe(&ring);
    io_uring_prep_read(s, fd, r, 16384, 0);
    s->user_data = 4;
    io_uring_submit(&ring);
    reap(&ring, "buffered read after drop", 1);
    printf("match: %d\n", memcmp(r, w, 16384) == 0);
    close(fd);
    io_uring_queue_exit(&ring);
    return 0;
}
