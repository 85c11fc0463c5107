/* The read and write family: read, write, pread64, pwrite64, readv, writev,
 * preadv, pwritev, preadv2, pwritev2 (RWF_* flags), and lseek with
 * SEEK_SET/CUR/END/DATA/HOLE; their errors (EBADF, EINVAL, EFAULT, ESPIPE,
 * EISDIR, EOPNOTSUPP, ENXIO). */
#define _GNU_SOURCE
#include "fs_util.h"
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

/* musl has no preadv2/pwritev2 wrappers: the raw calls (offset split low/high). */
#ifndef RWF_HIPRI
#define RWF_HIPRI 0x1
#define RWF_DSYNC 0x2
#define RWF_SYNC 0x4
#define RWF_NOWAIT 0x8
#define RWF_APPEND 0x10
#endif
static long preadv2_(int fd, const struct iovec* iov, int count, long offset, int flags)
{
    return syscall(SYS_preadv2, fd, iov, count, (unsigned long)offset, 0ul, flags);
}
static long pwritev2_(int fd, const struct iovec* iov, int count, long offset, int flags)
{
    return syscall(SYS_pwritev2, fd, iov, count, (unsigned long)offset, 0ul, flags);
}
#define preadv2 preadv2_
#define pwritev2 pwritev2_

static void dump(const char* what, const char* data, long n)
{
    printf("%s: [", what);
    for (long i = 0; i < n; i++)
        putchar(data[i] ? data[i] : '.');
    printf("]\n");
}

int main(void)
{
    char buffer[128];
    int fd = open("f", O_CREAT | O_RDWR | O_TRUNC, 0644);
    SHOW("write hello", write(fd, "hello world", 11));
    SHOW("write 0 bytes", write(fd, "", 0));
    SHOW("write NULL 0 bytes", write(fd, NULL, 0));
    SHOW("write NULL", write(fd, NULL, 5));
    SHOW("write kernel", syscall(SYS_write, fd, (void*)0xffff800000000000ul, 5));
    SHOW("read at end", read(fd, buffer, sizeof buffer));
    SHOW("lseek SEEK_SET 6", lseek(fd, 6, SEEK_SET));
    long n = read(fd, buffer, sizeof buffer);
    dump("read from 6", buffer, n);
    SHOW("lseek SEEK_CUR -3", lseek(fd, -3, SEEK_CUR));
    SHOW("lseek SEEK_END 0", lseek(fd, 0, SEEK_END));
    SHOW("lseek SEEK_END -20", lseek(fd, -20, SEEK_END));
    SHOW("lseek SEEK_SET -1", lseek(fd, -1, SEEK_SET));
    SHOW("lseek whence 5", lseek(fd, 0, 5));
    SHOW("lseek SEEK_DATA 0", lseek(fd, 0, SEEK_DATA));
    SHOW("lseek SEEK_DATA 5", lseek(fd, 5, SEEK_DATA));
    SHOW("lseek SEEK_DATA 11", lseek(fd, 11, SEEK_DATA));
    SHOW("lseek SEEK_HOLE 0", lseek(fd, 0, SEEK_HOLE));
    SHOW("lseek SEEK_HOLE 100", lseek(fd, 100, SEEK_HOLE));
    SHOW("lseek SEEK_DATA -1", lseek(fd, -1, SEEK_DATA));
    SHOW("lseek past end", lseek(fd, 1000, SEEK_SET));
    SHOW("read past end", read(fd, buffer, 10));
    SHOW("write past end", write(fd, "Z", 1));
    struct stat st;
    fstat(fd, &st);
    printf("size after write past end: %ld\n", (long)st.st_size);
    n = pread(fd, buffer, 8, 995);
    dump("pread 995 (hole then Z)", buffer, n);
    SHOW("lseek bad fd", lseek(999, 0, SEEK_SET));
    SHOW("read bad fd", read(999, buffer, 1));
    SHOW("read -1 fd", read(-1, buffer, 1));
    SHOW("read NULL", read(fd, NULL, 4));

    /* pread/pwrite do not move the position */
    lseek(fd, 2, SEEK_SET);
    SHOW("pwrite HELLO at 0", pwrite(fd, "HELLO", 5, 0));
    SHOW("position after pwrite", lseek(fd, 0, SEEK_CUR));
    n = pread(fd, buffer, 11, 0);
    dump("pread 0", buffer, n);
    SHOW("position after pread", lseek(fd, 0, SEEK_CUR));
    SHOW("pread negative offset", pread(fd, buffer, 1, -1));
    SHOW("pwrite negative offset", pwrite(fd, "x", 1, -5));
    SHOW("pread bad fd", pread(999, buffer, 1, 0));
    SHOW("pread bad fd negative offset", pread(999, buffer, 1, -1));
    SHOW("pread past end", pread(fd, buffer, 10, 5000));

    /* a buffer that runs into an unmapped page: a short count */
    char* pages = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(pages + 4096, 4096);
    SHOW("pread into page edge", pread(fd, pages + 4096 - 4, 11, 0));
    memcpy(pages + 4096 - 3, "abc", 3);
    SHOW("pwrite from page edge", pwrite(fd, pages + 4096 - 3, 10, 20));
    n = pread(fd, buffer, 30, 0);
    dump("after edge write", buffer, n > 30 ? 30 : n);

    /* readv/writev */
    lseek(fd, 0, SEEK_SET);
    ftruncate(fd, 0);
    struct iovec out[3] = { { "one ", 4 }, { "", 0 }, { "two three", 9 } };
    SHOW("writev", writev(fd, out, 3));
    SHOW("writev 0 vectors", writev(fd, out, 0));
    SHOW("writev 1025 vectors", writev(fd, out, 1025));
    SHOW("writev negative count", writev(fd, out, -1));
    struct iovec bad[1] = { { NULL, 4 } };
    SHOW("writev NULL segment", writev(fd, bad, 1));
    SHOW("writev NULL array", writev(fd, NULL, 1));
    struct iovec huge[2] = { { "a", 1 }, { "b", (size_t)-1 } };
    SHOW("writev negative length", writev(fd, huge, 2));
    char a[3], b[5], c[20];
    struct iovec in[3] = { { a, 3 }, { b, 5 }, { c, 20 } };
    lseek(fd, 0, SEEK_SET);
    n = readv(fd, in, 3);
    printf("readv: %ld\n", n);
    dump("a", a, 3);
    dump("b", b, 5);
    dump("c", c, n - 8);
    SHOW("preadv 4", preadv(fd, in, 2, 4));
    dump("a", a, 3);
    dump("b", b, 5);
    SHOW("pwritev 1", pwritev(fd, out, 1, 1));
    SHOW("preadv negative", preadv(fd, in, 1, -2));
    SHOW("preadv2 -1 (position)", preadv2(fd, in, 1, -1, 0));
    SHOW("position after preadv2 -1", lseek(fd, 0, SEEK_CUR));
    SHOW("preadv2 offset 0", preadv2(fd, in, 1, 0, 0));
    SHOW("position after preadv2 0", lseek(fd, 0, SEEK_CUR));
    SHOW("preadv2 bad flags", preadv2(fd, in, 1, 0, 0x40000000));
    SHOW("preadv2 RWF_HIPRI", preadv2(fd, in, 1, 0, RWF_HIPRI));
    SHOW("pwritev2 RWF_DSYNC", pwritev2(fd, out, 1, 0, RWF_DSYNC));
    SHOW("pwritev2 RWF_SYNC", pwritev2(fd, out, 1, 0, RWF_SYNC));
    SHOW("pwritev2 RWF_APPEND", pwritev2(fd, out + 2, 1, 0, RWF_APPEND));
    fstat(fd, &st);
    printf("size after RWF_APPEND: %ld\n", (long)st.st_size);
    SHOW("pwritev2 -1", pwritev2(fd, out, 1, -1, 0));
    SHOW("position after pwritev2 -1", lseek(fd, 0, SEEK_CUR));
    close(fd);

    /* O_APPEND makes pwrite append (Linux) */
    fd = open("f", O_WRONLY | O_APPEND);
    SHOW("pwrite O_APPEND at 0", pwrite(fd, "END", 3, 0));
    close(fd);
    fd = open("f", O_RDONLY);
    n = read(fd, buffer, sizeof buffer);
    dump("f", buffer, n);
    close(fd);

    /* directories */
    mkdir("d", 0755);
    fd = open("d", O_RDONLY);
    SHOW("read directory", read(fd, buffer, 1));
    SHOW("pread directory", pread(fd, buffer, 1, 0));
    SHOW("lseek directory SEEK_SET 0", lseek(fd, 0, SEEK_SET));
    close(fd);

    /* /dev/null and /dev/zero */
    fd = open("/dev/zero", O_RDONLY);
    memset(buffer, 'x', 8);
    SHOW("read /dev/zero", read(fd, buffer, 8));
    dump("zero", buffer, 8);
    SHOW("pread /dev/zero", pread(fd, buffer, 8, 100));
    close(fd);
    fd = open("/dev/null", O_RDWR);
    SHOW("write /dev/null", write(fd, "abc", 3));
    SHOW("read /dev/null", read(fd, buffer, 3));
    close(fd);
    return 0;
}
