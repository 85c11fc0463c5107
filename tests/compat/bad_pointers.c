/* Pointers a program gets wrong are -EFAULT, never a crash: NULL, a low
 * unmapped page, an address in the kernel half, a non-canonical address,
 * and a buffer running from a mapped page into an unmapped one. System calls
 * are made directly (syscall(2)) so that libc cannot check first. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static void report(const char* what, long result)
{
    if (result < 0)
        printf("%-40s -1 %s\n", what, strerror(errno));
    else
        printf("%-40s %ld\n", what, result);
}

int main(void)
{
    void* const bad[] = {
        (void*)0,                     /* NULL */
        (void*)0x1000,                /* low, unmapped */
        (void*)0xffff800000000000ul,  /* kernel half */
        (void*)0xffffffff80000000ul,  /* where kernels put their text */
        (void*)0x0000800000000000ul,  /* first non-canonical address */
    };
    const char* names[] = { "NULL", "0x1000", "kernel half", "kernel text", "non-canonical" };
    char line[80];
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(line, sizeof line, "write(1, %s, 16)", names[i]);
        report(line, syscall(SYS_write, 1, bad[i], 16));
        snprintf(line, sizeof line, "read(/dev/zero, %s, 16)", names[i]);
        int zero = open("/dev/zero", 0);
        report(line, syscall(SYS_read, zero, bad[i], 16));
        close(zero);
        snprintf(line, sizeof line, "open(%s)", names[i]);
        report(line, syscall(SYS_open, bad[i], 0));
    }

    /* Two pages, the second unmapped: a read that would run into it. */
    char* pages = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (pages == MAP_FAILED)
        return 1;
    munmap(pages + 4096, 4096);
    int zero = open("/dev/zero", 0);
    /* Linux's read_zero clears what it can and returns the bytes done. */
    report("read(/dev/zero, straddling, 4096)", syscall(SYS_read, zero, pages + 2048, 4096));
    close(zero);
    memset(pages, 'x', 4096);
    fflush(stdout);
    report("write(1, valid 4 bytes at page end)", syscall(SYS_write, 1, pages + 4092, 4));
    printf("\n");
    return 0;
}
