/* Memory mapping as Linux does it: anonymous mmap, munmap holes, mprotect,
 * copy-on-write across fork, MAP_SHARED across fork, mremap, mincore, brk,
 * madvise, msync, and the errno of bad arguments. Prints "T: " lines. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE 4096

static void report(const char* what, long result)
{
    if (result == -1)
        printf("T: %s = -1 errno %d\n", what, errno);
    else
        printf("T: %s = %ld\n", what, result);
}

/* Run `touch` in a child; print how it ended. */
static void in_child(const char* what, void (*touch)(char*), char* memory)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        touch(memory);
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    if (WIFSIGNALED(status))
        printf("T: %s: killed by signal %d\n", what, WTERMSIG(status));
    else
        printf("T: %s: exit %d\n", what, WEXITSTATUS(status));
}

static void read_byte(char* p) { volatile char c = *p; (void)c; }
static void write_byte(char* p) { *(volatile char*)p = 1; }

int main(void)
{
    /* Anonymous private memory reads as zeroes and keeps what is written. */
    char* a = mmap(NULL, 8 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("T: anon mapped %d\n", a != MAP_FAILED);
    int zero = 1;
    for (int i = 0; i < 8 * PAGE; i++)
        if (a[i] != 0)
            zero = 0;
    printf("T: anon zeroed %d\n", zero);
    for (int i = 0; i < 8; i++)
        a[i * PAGE] = (char)('a' + i);

    /* A hole in the middle. */
    report("munmap middle", munmap(a + 2 * PAGE, 3 * PAGE));
    printf("T: around hole %c %c\n", a[PAGE], a[5 * PAGE]);
    in_child("touch hole", read_byte, a + 3 * PAGE);
    unsigned char vec[8];
    report("mincore over hole", mincore(a, 8 * PAGE, vec));
    report("mincore first two", mincore(a, 2 * PAGE, vec));
    printf("T: resident %d %d\n", vec[0], vec[1]);

    /* mprotect. */
    report("mprotect ro", mprotect(a, PAGE, PROT_READ));
    in_child("write read-only", write_byte, a);
    in_child("read read-only", read_byte, a);
    report("mprotect none", mprotect(a + PAGE, PAGE, PROT_NONE));
    in_child("read prot_none", read_byte, a + PAGE);
    report("mprotect rw", mprotect(a, 2 * PAGE, PROT_READ | PROT_WRITE));
    a[0] = 'A';
    printf("T: after mprotect %c %c\n", a[0], a[PAGE]);
    report("mprotect hole", mprotect(a, 8 * PAGE, PROT_READ));
    report("mprotect unaligned", mprotect(a + 1, PAGE, PROT_READ));

    /* Copy-on-write across fork. */
    a[5 * PAGE] = 'P';
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        a[5 * PAGE] = 'C';
        printf("T: child sees %c\n", a[5 * PAGE]);
        fflush(stdout);
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    printf("T: parent sees %c\n", a[5 * PAGE]);

    /* Shared anonymous memory across fork. */
    int* shared = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        shared[10] = 4242;
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    printf("T: shared value %d\n", shared[10]);

    /* mremap: grow with a move, contents follow. */
    char* r = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(r + 2 * PAGE, 2 * PAGE);
    char* blocker = mmap(r + 3 * PAGE, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    printf("T: blocker placed %d\n", blocker == r + 3 * PAGE);
    strcpy(r + PAGE, "remapped");
    char* grown = mremap(r, 2 * PAGE, 4 * PAGE, 0);
    printf("T: mremap in place blocked %d errno %d\n", grown == MAP_FAILED, errno);
    grown = mremap(r, 2 * PAGE, 4 * PAGE, MREMAP_MAYMOVE);
    printf("T: mremap moved %d %s\n", grown != r, grown + PAGE);
    grown[3 * PAGE] = 'x';
    report("mremap shrink", mremap(grown, 4 * PAGE, PAGE, 0) == grown ? 0 : -1);

    /* brk. */
    /* (musl's brk() refuses to move the break; the raw system call does.) */
    char* start = (char*)syscall(SYS_brk, 0);
    char* moved = (char*)syscall(SYS_brk, start + 3 * PAGE);
    printf("T: brk grow %ld\n", (long)(moved - start));
    start[3 * PAGE - 1] = 'b';
    moved = (char*)syscall(SYS_brk, start + PAGE);
    printf("T: brk shrink %ld\n", (long)(moved - start));
    moved = (char*)syscall(SYS_brk, start - 1000 * PAGE);
    printf("T: brk below start %ld\n", (long)(moved - start));

    /* madvise. */
    a[6 * PAGE] = 'D';
    report("madvise dontneed", madvise(a + 6 * PAGE, PAGE, MADV_DONTNEED));
    printf("T: after dontneed %d\n", a[6 * PAGE]);
    report("madvise bad", madvise(a, PAGE, 999));
    report("madvise unaligned", madvise(a + 1, PAGE, MADV_NORMAL));
    report("madvise hole", madvise(a, 8 * PAGE, MADV_WILLNEED));

    /* msync. */
    report("msync anon", msync(a, PAGE, MS_SYNC));
    report("msync both", msync(a, PAGE, MS_SYNC | MS_ASYNC));
    report("msync hole", msync(a, 8 * PAGE, MS_ASYNC));

    /* Bad arguments. */
    report("mmap zero length", (long)mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    report("mmap no type", (long)mmap(NULL, PAGE, PROT_READ, MAP_ANONYMOUS, -1, 0));
    report("mmap unaligned fixed", (long)mmap(a + 1, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
    report("mmap bad fd", (long)mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, 99, 0));
    report("mmap unaligned offset", (long)mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, 0, 1));
    report("mmap noreplace", (long)mmap(a, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0));
    report("munmap unaligned", munmap(a + 1, PAGE));
    report("munmap zero", munmap(a, 0));
    report("munmap unmapped", munmap((void*)0x100000000, PAGE));
    report("mincore unaligned", mincore(a + 1, PAGE, vec));
    report("mincore bad vector", mincore(a, PAGE, (unsigned char*)8));
    report("mremap bad flags", (long)mremap(a, PAGE, 2 * PAGE, 99));
    report("mremap unmapped", (long)mremap((void*)0x100000000, PAGE, 2 * PAGE, MREMAP_MAYMOVE));

    /* MAP_FIXED replaces what was there. */
    char* fixed = mmap(a, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    printf("T: fixed replaced %d %d\n", fixed == a, a[0]);
    report("munmap all", munmap(a, 8 * PAGE));
    return 0;
}
