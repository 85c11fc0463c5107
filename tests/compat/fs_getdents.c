/* getdents64 and getdents: every entry once (sorted here, as the order is
 * the filesystem's), d_type, small buffers (EINVAL), lseek back to the start
 * (rewinddir), and the errors (ENOTDIR, EBADF, EFAULT). */
#define _GNU_SOURCE
#include "fs_util.h"
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

struct linux_dirent64_ {
    uint64_t d_ino;
    int64_t d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

struct linux_dirent_ {
    unsigned long d_ino;
    unsigned long d_off;
    unsigned short d_reclen;
    char d_name[];
};

static char names[512][300];
static int count;

static int compare(const void* a, const void* b) { return strcmp(a, b); }

static void flush(const char* what)
{
    qsort(names, count, sizeof names[0], compare);
    printf("%s: %d entries:", what, count);
    for (int i = 0; i < count; i++)
        printf(" %s", names[i]);
    printf("\n");
    count = 0;
}

static int list64(int fd, size_t chunk)
{
    char buffer[8192];
    int calls = 0;
    for (;;) {
        long n = syscall(SYS_getdents64, fd, buffer, chunk);
        if (n < 0)
            return -1;
        if (n == 0)
            return calls;
        calls++;
        for (long at = 0; at < n;) {
            struct linux_dirent64_* d = (void*)(buffer + at);
            if (d->d_reclen % 8)
                printf("misaligned record\n");
            snprintf(names[count++], sizeof names[0], "%s:%d", d->d_name, d->d_type);
            at += d->d_reclen;
        }
    }
}

int main(void)
{
    mkdir("d", 0755);
    mkdir("d/sub", 0755);
    close(open("d/file", O_CREAT | O_WRONLY, 0644));
    symlink("file", "d/link");
    for (int i = 0; i < 40; i++) {
        char name[64];
        snprintf(name, sizeof name, "d/a-rather-long-file-name-number-%02d", i);
        close(open(name, O_CREAT | O_WRONLY, 0644));
    }
    int fd = open("d", O_RDONLY | O_DIRECTORY);
    list64(fd, 8192);
    flush("getdents64 d");
    SHOW("getdents64 at end", syscall(SYS_getdents64, fd, names, 4096));
    SHOW("lseek 0", lseek(fd, 0, SEEK_SET));
    int calls = list64(fd, 64);
    flush("getdents64 d, 64-byte buffer");
    printf("calls > 10: %d\n", calls > 10);
    lseek(fd, 0, SEEK_SET);
    SHOW("getdents64 tiny buffer", syscall(SYS_getdents64, fd, names, 8));
    SHOW("getdents64 0 buffer", syscall(SYS_getdents64, fd, names, 0));
    SHOW("getdents64 NULL", syscall(SYS_getdents64, fd, NULL, 4096));
    SHOW("getdents64 kernel buffer", syscall(SYS_getdents64, fd, (void*)0xffff800000000000ul, 4096));
    SHOW("getdents64 bad fd", syscall(SYS_getdents64, 999, names, 4096));
    int file = open("d/file", O_RDONLY);
    SHOW("getdents64 on a file", syscall(SYS_getdents64, file, names, 4096));
    int path = open("d", O_PATH);
    SHOW("getdents64 on O_PATH", syscall(SYS_getdents64, path, names, 4096));

    /* the old getdents: d_type in the last byte */
    lseek(fd, 0, SEEK_SET);
    char buffer[8192];
    for (;;) {
        long n = syscall(SYS_getdents, fd, buffer, sizeof buffer);
        if (n <= 0)
            break;
        for (long at = 0; at < n;) {
            struct linux_dirent_* d = (void*)(buffer + at);
            snprintf(names[count++], sizeof names[0], "%s:%d", d->d_name, buffer[at + d->d_reclen - 1]);
            at += d->d_reclen;
        }
    }
    flush("getdents d");

    /* libc's readdir, and an empty directory */
    DIR* dir = opendir("d/sub");
    struct dirent* e;
    while ((e = readdir(dir)))
        snprintf(names[count++], sizeof names[0], "%s", e->d_name);
    closedir(dir);
    flush("readdir d/sub");

    /* entries removed and added while listing from the start again */
    unlink("d/file");
    close(open("d/added", O_CREAT | O_WRONLY, 0644));
    lseek(fd, 0, SEEK_SET);
    list64(fd, 8192);
    int seen_file = 0, seen_added = 0;
    for (int i = 0; i < count; i++) {
        seen_file |= strncmp(names[i], "file:", 5) == 0;
        seen_added |= strncmp(names[i], "added:", 6) == 0;
    }
    printf("after unlink/create: file %d added %d, %d entries\n", seen_file, seen_added, count);
    count = 0;
    return 0;
}
