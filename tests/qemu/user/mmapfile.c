/* File mappings as Linux does them: MAP_SHARED coherent with read() and
 * write() on the same file, MAP_PRIVATE copies on write, SIGBUS past the
 * end of the file, msync, mincore, and the EACCES/ENODEV/EBADF cases.
 * Prints "T: " lines. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
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

int main(void)
{
    const char* path = "/tmp/mmapfile.dat";
    mkdir("/tmp", 0777);
    unlink(path);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        printf("T: open failed %d\n", errno);
        return 1;
    }
    char block[PAGE];
    for (int i = 0; i < 2; i++) {
        memset(block, 'a' + i, sizeof(block));
        write(fd, block, sizeof(block));
    }
    write(fd, "tail", 4); /* 2 pages + 4 bytes */

    char* shared = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    printf("T: shared mapped %d\n", shared != MAP_FAILED);
    printf("T: shared reads %c %c %.4s %d\n", shared[0], shared[PAGE], shared + 2 * PAGE, shared[2 * PAGE + 4]);

    /* A store through the mapping is what read() returns, and back. */
    memcpy(shared + 100, "via-map", 7);
    char buffer[16] = {0};
    pread(fd, buffer, 7, 100);
    printf("T: read sees %s\n", buffer);
    pwrite(fd, "via-write", 9, PAGE + 10);
    printf("T: map sees %.9s\n", shared + PAGE + 10);

    /* MAP_PRIVATE: sees the file until it writes; its writes stay private. */
    char* private = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    printf("T: private reads %.7s\n", private + 100);
    private[100] = 'P';
    pread(fd, buffer, 1, 100);
    printf("T: file after private write %c, private %c\n", buffer[0], private[100]);
    pwrite(fd, "Z", 1, PAGE);
    printf("T: private untouched page follows file %c\n", private[PAGE]);

    /* msync and mincore. */
    report("msync sync", msync(shared, 3 * PAGE, MS_SYNC));
    report("msync async", msync(shared, PAGE, MS_ASYNC | MS_INVALIDATE));
    unsigned char vec[3];
    report("mincore file", mincore(shared, 3 * PAGE, vec));
    printf("T: resident %d %d %d\n", vec[0], vec[1], vec[2]);

    /* Past the end of the file: the rest of the last page reads as zeroes;
     * a whole page beyond EOF is SIGBUS. */
    char* beyond = mmap(NULL, 4 * PAGE, PROT_READ, MAP_SHARED, fd, 0);
    printf("T: last page tail %d\n", beyond[2 * PAGE + 100]);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        volatile char c = beyond[3 * PAGE];
        (void)c;
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    printf("T: beyond eof: %s %d\n", WIFSIGNALED(status) ? "signal" : "exit",
           WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));

    /* Shared writes survive munmap. */
    memcpy(shared + 2 * PAGE, "TAIL", 4);
    report("munmap shared", munmap(shared, 3 * PAGE));
    pread(fd, buffer, 4, 2 * PAGE);
    printf("T: after munmap %.4s\n", buffer);

    /* Permission and type errors. */
    int ro = open(path, O_RDONLY);
    report("shared write on O_RDONLY", (long)mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0));
    char* rmap = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, ro, 0);
    printf("T: shared read on O_RDONLY %d\n", rmap != MAP_FAILED);
    report("mprotect write on O_RDONLY", mprotect(rmap, PAGE, PROT_READ | PROT_WRITE));
    char* pmap = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, ro, 0);
    printf("T: private write on O_RDONLY %d\n", pmap != MAP_FAILED);
    int wo = open(path, O_WRONLY);
    report("map O_WRONLY", (long)mmap(NULL, PAGE, PROT_READ, MAP_SHARED, wo, 0));
    int dir = open("/tmp", O_RDONLY | O_DIRECTORY);
    report("map directory", (long)mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, dir, 0));
    close(ro);
    /* The mapping outlives the descriptor. */
    printf("T: after close %.7s\n", rmap + 100);
    close(fd);
    unlink(path);
    return 0;
}
