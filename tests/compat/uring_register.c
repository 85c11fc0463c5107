/* io_uring_register: registered buffers (READ_FIXED/WRITE_FIXED, ranges
 * outside the buffer, a bad index, EBUSY/ENXIO/EINVAL/EFAULT), registered
 * files (IOSQE_FIXED_FILE, an index out of range, a sparse slot, a ring fd
 * refused), and the probe (the opcodes every kernel here supports, a probe
 * buffer that is not zeroed, too many ops). */
#include "uring_util.h"
#include <fcntl.h>
#include <sys/uio.h>

int main(void)
{
    struct io_uring ring;
    if (io_uring_queue_init(8, &ring, 0) < 0)
        return 1;
    int fd = open("data", O_RDWR | O_CREAT | O_TRUNC, 0644);
    static char buf[8192] __attribute__((aligned(4096)));
    struct iovec iov = { buf, sizeof(buf) };
    show_res("register buffers 0", sys_register(ring.ring_fd, IORING_REGISTER_BUFFERS, &iov, 0));
    show_res("register buffers NULL", sys_register(ring.ring_fd, IORING_REGISTER_BUFFERS, NULL, 1));
    struct iovec bad = { NULL, 4096 };
    show_res("register NULL base", sys_register(ring.ring_fd, IORING_REGISTER_BUFFERS, &bad, 1));
    show_res("register buffers", io_uring_register_buffers(&ring, &iov, 1));
    show_res("register buffers again", io_uring_register_buffers(&ring, &iov, 1));

    memcpy(buf, "fixed buffer data", 17);
    struct io_uring_sqe* sqe = get_sqe(&ring);
    io_uring_prep_write_fixed(sqe, fd, buf, 17, 0, 0);
    sqe->user_data = 1;
    io_uring_submit(&ring);
    reap(&ring, "write_fixed", 1);
    memset(buf + 4096, 0, 32);
    sqe = get_sqe(&ring);
    io_uring_prep_read_fixed(sqe, fd, buf + 4096, 17, 0, 0);
    sqe->user_data = 2;
    io_uring_submit(&ring);
    reap(&ring, "read_fixed", 1);
    printf("got [%.17s]\n", buf + 4096);
    sqe = get_sqe(&ring);
    io_uring_prep_read_fixed(sqe, fd, buf + 8000, 400, 0, 0);
    sqe->user_data = 3;
    io_uring_submit(&ring);
    reap(&ring, "read_fixed past the buffer", 1);
    sqe = get_sqe(&ring);
    io_uring_prep_read_fixed(sqe, fd, buf, 4, 0, 5);
    sqe->user_data = 4;
    show_res("submit bad buf_index", io_uring_submit(&ring));
    reap(&ring, "bad buf_index", 1);
    show_res("unregister buffers", io_uring_unregister_buffers(&ring));
    show_res("unregister buffers again", io_uring_unregister_buffers(&ring));

    int fds[3] = { -1, fd, ring.ring_fd };
    show_res("register files with the ring", io_uring_register_files(&ring, fds, 3));
    show_res("register files bad fd", io_uring_register_files(&ring, (int[]){ 77 }, 1));
    show_res("register files", io_uring_register_files(&ring, fds, 2));
    show_res("register files again", io_uring_register_files(&ring, fds, 2));
    char out[32] = { 0 };
    sqe = get_sqe(&ring);
    io_uring_prep_read(sqe, 1, out, 5, 6);
    sqe->flags = IOSQE_FIXED_FILE;
    sqe->user_data = 5;
    io_uring_submit(&ring);
    reap(&ring, "fixed file read", 1);
    printf("got [%s]\n", out);
    sqe = get_sqe(&ring);
    io_uring_prep_read(sqe, 0, out, 5, 0);
    sqe->flags = IOSQE_FIXED_FILE;
    sqe->user_data = 6;
    io_uring_submit(&ring);
    reap(&ring, "sparse slot", 1);
    sqe = get_sqe(&ring);
    io_uring_prep_read(sqe, 9, out, 5, 0);
    sqe->flags = IOSQE_FIXED_FILE;
    sqe->user_data = 7;
    io_uring_submit(&ring);
    reap(&ring, "index out of range", 1);
    show_res("unregister files", io_uring_unregister_files(&ring));
    show_res("unregister files again", io_uring_unregister_files(&ring));

    struct io_uring_probe* probe = io_uring_get_probe_ring(&ring);
    if (probe) {
        static const int ops[] = { IORING_OP_NOP, IORING_OP_READV, IORING_OP_WRITEV, IORING_OP_FSYNC,
                                   IORING_OP_READ_FIXED, IORING_OP_WRITE_FIXED, IORING_OP_READ, IORING_OP_WRITE };
        for (unsigned i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
            printf("probe op %d: %d\n", ops[i], io_uring_opcode_supported(probe, ops[i]));
        io_uring_free_probe(probe);
    }
    char raw[sizeof(struct io_uring_probe) + 4 * sizeof(struct io_uring_probe_op)];
    memset(raw, 0, sizeof(raw));
    raw[0] = 1;
    show_res("probe not zeroed", sys_register(ring.ring_fd, IORING_REGISTER_PROBE, raw, 4));
    show_res("probe 257 ops", sys_register(ring.ring_fd, IORING_REGISTER_PROBE, raw, 257));
    show_res("probe NULL", sys_register(ring.ring_fd, IORING_REGISTER_PROBE, NULL, 4));
    io_uring_queue_exit(&ring);
    return 0;
}
