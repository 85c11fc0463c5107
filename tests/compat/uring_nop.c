/* The ring's mechanics with NOPs: CQEs in submission order with their
 * user_data, batches, CQE_SKIP_SUCCESS, bad SQEs (opcode, flags, ioprio,
 * personality, buffer select) failing with a CQE while the ring goes on,
 * the submission stopping at a bad SQE unless SUBMIT_ALL, links (a bad SQE
 * inside a chain cancels the chain), drain, CQ overflow without loss
 * (IORING_FEAT_NODROP, IORING_SQ_CQ_OVERFLOW), GETEVENTS with min_complete
 * and a timeout (-ETIME). */
#include "uring_util.h"

static void nop(struct io_uring* ring, unsigned long long data, unsigned flags)
{
    struct io_uring_sqe* sqe = get_sqe(ring);
    io_uring_prep_nop(sqe);
    sqe->user_data = data;
    sqe->flags = flags;
}

int main(void)
{
    struct io_uring ring;
    int r = io_uring_queue_init(8, &ring, 0);
    if (r < 0) {
        show_res("queue_init", r);
        return 1;
    }
    /* One NOP, then a batch of 8 (the whole SQ). */
    nop(&ring, 1, 0);
    show_res("submit 1", io_uring_submit(&ring));
    reap(&ring, "nop", 1);
    for (int i = 0; i < 8; i++)
        nop(&ring, 100 + i, 0);
    show_res("submit 8", io_uring_submit_and_wait(&ring, 8));
    show_ready(&ring, "after batch");
    reap(&ring, "batch", 8);

    /* CQE_SKIP_SUCCESS: no CQE for a NOP that succeeds. */
    nop(&ring, 200, IOSQE_CQE_SKIP_SUCCESS);
    nop(&ring, 201, 0);
    show_res("submit skip", io_uring_submit_and_wait(&ring, 1));
    reap(&ring, "skip", 1);
    show_ready(&ring, "after skip");

    /* Bad SQEs: each gets a CQE with its errno; the submission stops there. */
    struct io_uring_sqe* sqe = get_sqe(&ring);
    io_uring_prep_nop(sqe);
    sqe->opcode = 200;
    sqe->user_data = 300;
    nop(&ring, 301, 0);
    show_res("submit bad opcode + nop", io_uring_submit(&ring));
    reap(&ring, "bad opcode", 1);
    show_res("submit the rest", io_uring_submit(&ring));
    reap(&ring, "rest", 1);

    nop(&ring, 310, 1u << 7);
    show_res("submit unknown sqe flag", io_uring_submit(&ring));
    reap(&ring, "unknown flag", 1);
    sqe = get_sqe(&ring);
    io_uring_prep_nop(sqe);
    sqe->user_data = 311;
    sqe->ioprio = 1;
    show_res("submit nop with ioprio", io_uring_submit(&ring));
    reap(&ring, "ioprio", 1);
    sqe = get_sqe(&ring);
    io_uring_prep_nop(sqe);
    sqe->user_data = 312;
    sqe->personality = 7;
    show_res("submit unknown personality", io_uring_submit(&ring));
    reap(&ring, "personality", 1);
    nop(&ring, 313, IOSQE_BUFFER_SELECT);
    show_res("submit nop with buffer select", io_uring_submit(&ring));
    reap(&ring, "buffer select", 1);

    /* Links: a chain of NOPs completes in order; a bad SQE inside a chain
     * fails it whole (its own errno, the others -ECANCELED). */
    nop(&ring, 400, IOSQE_IO_LINK);
    nop(&ring, 401, IOSQE_IO_LINK);
    nop(&ring, 402, 0);
    show_res("submit chain of 3", io_uring_submit_and_wait(&ring, 3));
    reap(&ring, "chain", 3);
    nop(&ring, 410, IOSQE_IO_LINK);
    sqe = get_sqe(&ring);
    io_uring_prep_nop(sqe);
    sqe->opcode = 201;
    sqe->user_data = 411;
    sqe->flags = IOSQE_IO_LINK;
    nop(&ring, 412, 0);
    nop(&ring, 413, 0);
    show_res("submit chain with a bad middle + nop", io_uring_submit(&ring));
    reap_sorted(&ring, "bad chain", 4); /* the chain's order against 413 is not defined */
    /* A chain left open at the end of a submission is submitted as it is. */
    nop(&ring, 420, IOSQE_IO_LINK);
    nop(&ring, 421, IOSQE_IO_LINK);
    show_res("submit open chain", io_uring_submit_and_wait(&ring, 2));
    reap(&ring, "open chain", 2);
    /* Hard links behave the same for NOPs (they cannot fail). */
    nop(&ring, 430, IOSQE_IO_HARDLINK);
    nop(&ring, 431, 0);
    show_res("submit hardlink", io_uring_submit_and_wait(&ring, 2));
    reap(&ring, "hardlink", 2);
    /* This ring has seen CQE_SKIP_SUCCESS: drain is refused from now on. */
    nop(&ring, 440, 0);
    nop(&ring, 441, IOSQE_IO_DRAIN);
    nop(&ring, 442, 0);
    show_res("submit drain after skip", io_uring_submit(&ring));
    reap_sorted(&ring, "drain after skip", 2);
    show_res("submit the rest", io_uring_submit_and_wait(&ring, 1));
    reap(&ring, "rest", 1);
    /* Async: through the worker pool, same result. */
    nop(&ring, 450, IOSQE_ASYNC);
    show_res("submit async", io_uring_submit_and_wait(&ring, 1));
    reap(&ring, "async", 1);
    io_uring_queue_exit(&ring);

    /* Drain: after everything before it. */
    r = io_uring_queue_init(8, &ring, 0);
    show_res("queue_init drain", r);
    if (r == 0) {
        nop(&ring, 460, 0);
        nop(&ring, 461, 0);
        nop(&ring, 462, IOSQE_IO_DRAIN);
        show_res("submit drain", io_uring_submit_and_wait(&ring, 3));
        reap(&ring, "drain", 3);
        io_uring_queue_exit(&ring);
    }

    /* SUBMIT_ALL: a bad SQE does not stop the submission. */
    r = io_uring_queue_init(8, &ring, IORING_SETUP_SUBMIT_ALL);
    show_res("queue_init submit_all", r);
    if (r == 0) {
        sqe = get_sqe(&ring);
        io_uring_prep_nop(sqe);
        sqe->opcode = 200;
        sqe->user_data = 500;
        nop(&ring, 501, 0);
        show_res("submit_all: bad + nop", io_uring_submit_and_wait(&ring, 2));
        reap(&ring, "submit_all", 2);
        io_uring_queue_exit(&ring);
    }

    /* Overflow: 4 SQ entries, 8 CQ entries, 20 NOPs without reaping. */
    r = io_uring_queue_init(4, &ring, 0);
    show_res("queue_init 4", r);
    if (r == 0) {
        for (int batch = 0; batch < 5; batch++) {
            for (int i = 0; i < 4; i++)
                nop(&ring, 600 + batch * 4 + i, 0);
            io_uring_submit(&ring);
        }
        printf("overflow flag: %d\n", !!(IO_URING_READ_ONCE(*ring.sq.kflags) & IORING_SQ_CQ_OVERFLOW));
        printf("cq ready: %u, overflow counter %u\n", io_uring_cq_ready(&ring), *ring.cq.koverflow);
        reap(&ring, "overflowed", 20);
        printf("overflow flag after: %d\n", !!(IO_URING_READ_ONCE(*ring.sq.kflags) & IORING_SQ_CQ_OVERFLOW));

        /* GETEVENTS: nothing in flight, a 10 ms timeout. */
        struct io_uring_cqe* cqe;
        struct __kernel_timespec ts = { 0, 10 * 1000 * 1000 };
        show_res("wait with timeout", io_uring_wait_cqe_timeout(&ring, &cqe, &ts));
        nop(&ring, 700, 0);
        nop(&ring, 701, 0);
        show_res("submit 2, wait for 2", io_uring_submit_and_wait_timeout(&ring, &cqe, 2, &ts, NULL));
        show_ready(&ring, "ready");
        reap(&ring, "timed", 2);
        io_uring_queue_exit(&ring);
    }
    return 0;
}
