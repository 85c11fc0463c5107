/* io_uring_setup(2): ring sizes rounded as Linux rounds them (power of two,
 * CQ = 2 x SQ, CQSIZE, CLAMP), every limit and bad argument (EINVAL,
 * EFAULT), the offsets it fills in, the features a program relies on, mmap
 * of the three regions (and offsets/lengths that are not), and what the ring
 * fd answers to other calls. Only what Linux 6.1 and later agree on: newer
 * kernels mask the mmap offset and accept longer mappings. */
#include "uring_util.h"
#include <fcntl.h>
#include <sys/mman.h>

static void try_setup(const char* what, unsigned entries, unsigned flags, unsigned cq_entries)
{
    struct io_uring_params p;
    memset(&p, 0, sizeof(p));
    p.flags = flags;
    p.cq_entries = cq_entries;
    long fd = sys_setup(entries, &p);
    if (fd < 0) {
        show_res(what, fd);
        return;
    }
    printf("%s: sq %u cq %u\n", what, p.sq_entries, p.cq_entries);
    close((int)fd);
}

int main(void)
{
    try_setup("entries 1", 1, 0, 0);
    try_setup("entries 2", 2, 0, 0);
    try_setup("entries 3", 3, 0, 0);
    try_setup("entries 100", 100, 0, 0);
    try_setup("entries 4096", 4096, 0, 0);
    try_setup("entries 32768", 32768, 0, 0);
    try_setup("entries 0", 0, 0, 0);
    try_setup("entries 32769", 32769, 0, 0);
    try_setup("entries 32769 clamp", 32769, IORING_SETUP_CLAMP, 0);
    try_setup("entries ~0 clamp", ~0u, IORING_SETUP_CLAMP, 0);
    try_setup("cqsize 0", 4, IORING_SETUP_CQSIZE, 0);
    try_setup("cqsize 2 < sq 4", 4, IORING_SETUP_CQSIZE, 2);
    try_setup("cqsize 4 = sq 4", 4, IORING_SETUP_CQSIZE, 4);
    try_setup("cqsize 5", 4, IORING_SETUP_CQSIZE, 5);
    try_setup("cqsize 65536", 8, IORING_SETUP_CQSIZE, 65536);
    try_setup("cqsize 65537", 8, IORING_SETUP_CQSIZE, 65537);
    try_setup("cqsize 65537 clamp", 8, IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP, 65537);
    try_setup("cq_entries without cqsize", 4, 0, 100);
    try_setup("unknown flag", 4, 1u << 31, 0);

    struct io_uring_params p;
    memset(&p, 0, sizeof(p));
    p.resv[1] = 1;
    show_res("resv set", sys_setup(4, &p));
    show_res("params NULL", sys_setup(4, NULL));
    show_res("params bad", sys_setup(4, (struct io_uring_params*)16));

    memset(&p, 0, sizeof(p));
    int fd = (int)sys_setup(8, &p);
    if (fd < 0) {
        show_res("setup 8", fd);
        return 1;
    }
    printf("sq_off head %u tail %u mask %u entries %u flags %u dropped %u array %u resv1 %u resv2 %llu\n",
           p.sq_off.head, p.sq_off.tail, p.sq_off.ring_mask, p.sq_off.ring_entries, p.sq_off.flags,
           p.sq_off.dropped, p.sq_off.array, p.sq_off.resv1, (unsigned long long)p.sq_off.resv2);
    printf("cq_off head %u tail %u mask %u entries %u overflow %u cqes %u flags %u resv1 %u resv2 %llu\n",
           p.cq_off.head, p.cq_off.tail, p.cq_off.ring_mask, p.cq_off.ring_entries, p.cq_off.overflow,
           p.cq_off.cqes, p.cq_off.flags, p.cq_off.resv1, (unsigned long long)p.cq_off.resv2);
    printf("features: single_mmap %d nodrop %d submit_stable %d rw_cur_pos %d ext_arg %d cqe_skip %d\n",
           !!(p.features & IORING_FEAT_SINGLE_MMAP), !!(p.features & IORING_FEAT_NODROP),
           !!(p.features & IORING_FEAT_SUBMIT_STABLE), !!(p.features & IORING_FEAT_RW_CUR_POS),
           !!(p.features & IORING_FEAT_EXT_ARG), !!(p.features & IORING_FEAT_CQE_SKIP));
    printf("ring fd cloexec: %d\n", fcntl(fd, F_GETFD) & FD_CLOEXEC);

    size_t sq_size = p.sq_off.array + p.sq_entries * sizeof(unsigned);
    size_t cq_size = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
    size_t ring_size = sq_size > cq_size ? sq_size : cq_size;
    unsigned char* sq = mmap(NULL, ring_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQ_RING);
    if (sq == MAP_FAILED) {
        printf("mmap sq ring: %s\n", errno_name(errno));
        return 1;
    }
    printf("sq ring: mask %u entries %u head %u tail %u flags %u dropped %u\n",
           *(unsigned*)(sq + p.sq_off.ring_mask), *(unsigned*)(sq + p.sq_off.ring_entries),
           *(unsigned*)(sq + p.sq_off.head), *(unsigned*)(sq + p.sq_off.tail), *(unsigned*)(sq + p.sq_off.flags),
           *(unsigned*)(sq + p.sq_off.dropped));
    printf("cq ring: mask %u entries %u head %u tail %u overflow %u\n", *(unsigned*)(sq + p.cq_off.ring_mask),
           *(unsigned*)(sq + p.cq_off.ring_entries), *(unsigned*)(sq + p.cq_off.head),
           *(unsigned*)(sq + p.cq_off.tail), *(unsigned*)(sq + p.cq_off.overflow));
    unsigned char* cq = mmap(NULL, cq_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, IORING_OFF_CQ_RING);
    printf("cq ring mapping: %s\n", cq == MAP_FAILED ? errno_name(errno) : "ok");
    if (cq != MAP_FAILED) {
        printf("same memory: %d\n", *(unsigned*)(cq + p.cq_off.ring_entries) == p.cq_entries);
        munmap(cq, cq_size);
    }
    void* sqes = mmap(NULL, p.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE, MAP_SHARED, fd,
                      IORING_OFF_SQES);
    printf("sqes mapping: %s\n", sqes == MAP_FAILED ? errno_name(errno) : "ok");

    /* The ring fd is not a file to read or write. */
    char byte;
    SHOW("read ring fd", read(fd, &byte, 1));
    SHOW("write ring fd", write(fd, &byte, 1));
    SHOW("lseek ring fd", lseek(fd, 0, SEEK_SET));

    /* io_uring_enter and io_uring_register argument checks. */
    int null_fd = open("/dev/null", O_RDONLY);
    show_res("enter on /dev/null", sys_enter(null_fd, 0, 0, 0, NULL, 0));
    show_res("enter on bad fd", sys_enter(99, 0, 0, 0, NULL, 0));
    show_res("enter unknown flag", sys_enter(fd, 0, 0, 1u << 20, NULL, 0));
    show_res("enter nothing", sys_enter(fd, 0, 0, 0, NULL, 0));
    show_res("enter submit with empty sq", sys_enter(fd, 4, 0, 0, NULL, 0));
    show_res("enter getevents 0", sys_enter(fd, 0, 0, IORING_ENTER_GETEVENTS, NULL, 0));
    show_res("enter sigset size 4, nothing to wait for", sys_enter(fd, 0, 0, IORING_ENTER_GETEVENTS, &p, 4));
    show_res("enter sigset size 4, waiting", sys_enter(fd, 0, 1, IORING_ENTER_GETEVENTS, &p, 4));
    show_res("enter ext_arg size 4", sys_enter(fd, 0, 1, IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG, &p, 4));
    struct io_uring_getevents_arg arg;
    memset(&arg, 0, sizeof(arg));
    struct __kernel_timespec ts = { 0, 1000000 };
    memset(&arg, 0, sizeof(arg));
    arg.ts = (unsigned long long)(unsigned long)&ts;
    show_res("enter wait 1 with 1 ms timeout",
             sys_enter(fd, 0, 1, IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG, &arg, sizeof(arg)));
    arg.ts = 8;
    show_res("enter ext_arg bad ts", sys_enter(fd, 0, 1, IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG, &arg, sizeof(arg)));
    show_res("enter registered ring 3", sys_enter(3, 0, 0, IORING_ENTER_REGISTERED_RING, NULL, 0));
    show_res("enter registered ring 100", sys_enter(100, 0, 0, IORING_ENTER_REGISTERED_RING, NULL, 0));
    show_res("register on /dev/null", sys_register(null_fd, IORING_REGISTER_PROBE, NULL, 0));
    show_res("register on bad fd", sys_register(99, IORING_REGISTER_PROBE, NULL, 0));
    show_res("register opcode 9999", sys_register(fd, 9999, NULL, 0));
    show_res("unregister buffers none", sys_register(fd, IORING_UNREGISTER_BUFFERS, NULL, 0));
    show_res("unregister files none", sys_register(fd, IORING_UNREGISTER_FILES, NULL, 0));
    SHOW("close ring", close(fd));
    /* The mapping outlives the fd. */
    printf("after close: sq entries %u\n", *(unsigned*)(sq + p.sq_off.ring_entries));
    munmap(sq, ring_size);
    return 0;
}
