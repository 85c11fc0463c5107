/* Shared by the uring_* compat programs: liburing plus a way to print a
 * result that is a count or a negative errno by name, so Linux and Sluice
 * can be compared line by line. Nothing printed may differ between two
 * machines: no addresses, fds beyond the first few, feature bits Linux has
 * and Sluice does not (each program prints only the bits it relies on). */
#ifndef URING_UTIL_H
#define URING_UTIL_H

#define _GNU_SOURCE
#include "fs_util.h"
#include <liburing.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

/* fs_util.h's names, and the ones io_uring adds */
static inline const char* uring_errno_name(int e)
{
    switch (e) {
    case ETIME: return "ETIME";
    case ECANCELED: return "ECANCELED";
    case EINTR: return "EINTR";
    case EBADFD: return "EBADFD";
    case ENOBUFS: return "ENOBUFS";
    default: return errno_name(e);
    }
}
#define errno_name uring_errno_name

/* "what: 3" or "what: -EINVAL" for a result that is >= 0 or -errno */
static inline void show_res(const char* what, long res)
{
    if (res < 0)
        printf("%s: -%s\n", what, errno_name((int)-res));
    else
        printf("%s: %ld\n", what, res);
}

/* The raw system calls, for the argument checks liburing does not reach. */
static inline long sys_setup(unsigned entries, struct io_uring_params* p)
{
    long r = syscall(__NR_io_uring_setup, entries, p);
    return r < 0 ? -errno : r;
}
static inline long sys_enter(int fd, unsigned to_submit, unsigned min_complete, unsigned flags, void* arg, size_t size)
{
    long r = syscall(__NR_io_uring_enter, fd, to_submit, min_complete, flags, arg, size);
    return r < 0 ? -errno : r;
}
static inline long sys_register(int fd, unsigned opcode, void* arg, unsigned count)
{
    long r = syscall(__NR_io_uring_register, fd, opcode, arg, count);
    return r < 0 ? -errno : r;
}

static inline struct io_uring_sqe* get_sqe(struct io_uring* ring)
{
    struct io_uring_sqe* sqe = io_uring_get_sqe(ring);
    if (!sqe) {
        printf("no sqe\n");
        exit(1);
    }
    return sqe;
}

/* Wait for `count` CQEs and print each: "tag: user_data res [flags]". */
static inline void reap(struct io_uring* ring, const char* tag, int count)
{
    for (int i = 0; i < count; i++) {
        struct io_uring_cqe* cqe;
        int r = io_uring_wait_cqe(ring, &cqe);
        if (r < 0) {
            printf("%s: wait %s\n", tag, errno_name(-r));
            return;
        }
        if (cqe->res < 0)
            printf("%s: %llu -%s flags %u\n", tag, (unsigned long long)cqe->user_data, errno_name(-cqe->res),
                   cqe->flags);
        else
            printf("%s: %llu %d flags %u\n", tag, (unsigned long long)cqe->user_data, cqe->res, cqe->flags);
        io_uring_cqe_seen(ring, cqe);
    }
}

/* Wait for `count` CQEs and print them ordered by user_data (for CQEs whose
 * order Linux does not define). */
static inline void reap_sorted(struct io_uring* ring, const char* tag, int count)
{
    struct { unsigned long long data; int res; unsigned flags; } got[64];
    int n = 0;
    for (int i = 0; i < count && n < 64; i++) {
        struct io_uring_cqe* cqe;
        int r = io_uring_wait_cqe(ring, &cqe);
        if (r < 0) {
            printf("%s: wait %s\n", tag, errno_name(-r));
            break;
        }
        got[n].data = cqe->user_data;
        got[n].res = cqe->res;
        got[n].flags = cqe->flags;
        n++;
        io_uring_cqe_seen(ring, cqe);
    }
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && got[j - 1].data > got[j].data; j--) {
            __typeof__(got[0]) t = got[j];
            got[j] = got[j - 1];
            got[j - 1] = t;
        }
    for (int i = 0; i < n; i++) {
        if (got[i].res < 0)
            printf("%s: %llu -%s flags %u\n", tag, got[i].data, errno_name(-got[i].res), got[i].flags);
        else
            printf("%s: %llu %d flags %u\n", tag, got[i].data, got[i].res, got[i].flags);
    }
}

/* No CQE should be waiting: print how many there are. */
static inline void show_ready(struct io_uring* ring, const char* tag)
{
    printf("%s: %u ready\n", tag, io_uring_cq_ready(ring));
}

#endif
