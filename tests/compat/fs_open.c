/* open, openat, creat and their flags: O_CREAT, O_EXCL, O_TRUNC, O_APPEND,
 * O_DIRECTORY, O_NOFOLLOW, O_PATH, O_CLOEXEC, O_TMPFILE, and the errors of
 * path lookup (ENOENT, ENOTDIR, EISDIR, EEXIST, ELOOP, ENAMETOOLONG, EFAULT). */
#include "fs_util.h"
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static char big[5000];

int main(void)
{
    umask(022);
    SHOW("open missing", open("missing", O_RDONLY));
    SHOW("open empty path", open("", O_RDONLY));
    SHOW("open NULL", syscall(SYS_open, NULL, O_RDONLY));
    SHOW("open kernel address", syscall(SYS_open, (void*)0xffffffff80000000ul, O_RDONLY));
    SHOW("open missing/x", open("missing/x", O_RDONLY));
    SHOW_OK("create a", open("a", O_CREAT | O_EXCL | O_WRONLY, 0666));
    SHOW("create a again O_EXCL", open("a", O_CREAT | O_EXCL | O_WRONLY, 0666));
    SHOW_OK("create a again", open("a", O_CREAT | O_WRONLY, 0666));
    struct stat st;
    SHOW("stat a", stat("a", &st));
    printf("a mode %o size %ld\n", st.st_mode, (long)st.st_size);
    SHOW("open a/", open("a/", O_RDONLY));
    SHOW("open a/x", open("a/x", O_RDONLY));
    SHOW("open a O_DIRECTORY", open("a", O_RDONLY | O_DIRECTORY));
    SHOW("create b/ O_CREAT", open("b/", O_CREAT | O_WRONLY, 0644));
    SHOW("mkdir d", mkdir("d", 0755));
    SHOW("open d O_WRONLY", open("d", O_WRONLY));
    SHOW("open d O_RDWR", open("d", O_RDWR));
    SHOW("open d O_CREAT", open("d", O_CREAT | O_RDONLY, 0644));
    SHOW_OK("open d O_RDONLY", open("d", O_RDONLY));
    SHOW_OK("open d/ O_DIRECTORY", open("d/", O_RDONLY | O_DIRECTORY));
    SHOW_OK("open d/. ", open("d/.", O_RDONLY));
    SHOW_OK("open d/.. ", open("d/..", O_RDONLY));
    SHOW("open O_CREAT|O_DIRECTORY", open("c", O_CREAT | O_DIRECTORY | O_RDONLY, 0644));

    /* O_TRUNC and O_APPEND */
    int fd = open("t", O_CREAT | O_RDWR, 0600);
    SHOW("write 10", write(fd, "0123456789", 10));
    close(fd);
    fd = open("t", O_RDONLY | O_TRUNC);
    SHOW("fstat after O_RDONLY|O_TRUNC", fstat(fd, &st));
    printf("t size %ld\n", (long)st.st_size);
    close(fd);
    fd = open("t", O_WRONLY);
    SHOW("write abc", write(fd, "abc", 3));
    close(fd);
    fd = open("t", O_WRONLY | O_APPEND);
    SHOW("lseek 0", lseek(fd, 0, SEEK_SET));
    SHOW("append def", write(fd, "def", 3));
    SHOW("position after append", lseek(fd, 0, SEEK_CUR));
    close(fd);
    char buffer[64] = { 0 };
    fd = open("t", O_RDONLY);
    SHOW("read t", read(fd, buffer, sizeof buffer));
    printf("t = '%s'\n", buffer);
    SHOW("write to O_RDONLY", write(fd, "x", 1));
    close(fd);
    fd = open("t", O_WRONLY);
    SHOW("read from O_WRONLY", read(fd, buffer, 1));
    close(fd);

    /* creat truncates and opens write-only */
    fd = creat("t", 0644);
    SHOW("creat t fstat", fstat(fd, &st));
    printf("t size %ld mode %o\n", (long)st.st_size, st.st_mode);
    SHOW("read from creat fd", read(fd, buffer, 1));
    close(fd);

    /* mode is masked by the umask */
    umask(077);
    close(open("u", O_CREAT | O_WRONLY, 0777));
    stat("u", &st);
    printf("u mode %o\n", st.st_mode);
    umask(022);

    /* symlinks */
    SHOW("symlink a -> la", symlink("a", "la"));
    SHOW("symlink missing -> dangling", symlink("nowhere", "dangling"));
    SHOW("symlink self loop", symlink("loop", "loop"));
    SHOW_OK("open la", open("la", O_RDONLY));
    SHOW("open la O_NOFOLLOW", open("la", O_RDONLY | O_NOFOLLOW));
    SHOW_OK("open la O_PATH|O_NOFOLLOW", open("la", O_PATH | O_NOFOLLOW));
    SHOW("open loop", open("loop", O_RDONLY));
    SHOW("open dangling", open("dangling", O_RDONLY));
    SHOW("open dangling O_CREAT|O_EXCL", open("dangling", O_CREAT | O_EXCL | O_WRONLY, 0644));
    SHOW_OK("open dangling O_CREAT", open("dangling", O_CREAT | O_WRONLY, 0644));
    SHOW("stat nowhere", stat("nowhere", &st));

    /* O_CLOEXEC and the status flags */
    fd = open("a", O_RDONLY | O_CLOEXEC);
    printf("F_GETFD O_CLOEXEC: %d\n", fcntl(fd, F_GETFD));
    printf("F_GETFL O_RDONLY|O_CLOEXEC: %o\n", fcntl(fd, F_GETFL));
    close(fd);
    fd = open("a", O_RDWR | O_APPEND | O_NONBLOCK | O_CREAT | O_TRUNC, 0644);
    printf("F_GETFD: %d\n", fcntl(fd, F_GETFD));
    printf("F_GETFL O_RDWR|O_APPEND|O_NONBLOCK|O_CREAT|O_TRUNC: %o\n", fcntl(fd, F_GETFL));
    close(fd);

    /* O_PATH: no I/O, but fstat and fcntl work */
    fd = open("t", O_PATH);
    SHOW("O_PATH read", read(fd, buffer, 1));
    SHOW("O_PATH write", write(fd, "x", 1));
    SHOW("O_PATH fstat", fstat(fd, &st));
    SHOW("O_PATH lseek", lseek(fd, 0, SEEK_SET));
    printf("O_PATH F_GETFL: %o\n", fcntl(fd, F_GETFL));
    close(fd);

    /* O_TMPFILE needs O_DIRECTORY semantics and write access */
    SHOW("O_TMPFILE read-only", open(".", O_TMPFILE | O_RDONLY, 0600));

    /* names too long */
    memset(big, 'n', 300);
    big[300] = 0;
    SHOW("open 300-byte name", open(big, O_RDONLY));
    SHOW("create 300-byte name", open(big, O_CREAT | O_WRONLY, 0644));
    for (int i = 0; i < 4999; i += 2) {
        big[i] = 'x';
        big[i + 1] = '/';
    }
    big[4999] = 0;
    SHOW("open 5000-byte path", open(big, O_RDONLY));
    memset(big, '/', 4095);
    big[4095] = 0;
    SHOW("open 4095 slashes", open(big, O_RDONLY | O_DIRECTORY) >= 0);
    big[4095] = '/';
    big[4096] = 0;
    SHOW("open 4096 slashes", open(big, O_RDONLY | O_DIRECTORY));

    /* openat */
    int dir = open("d", O_RDONLY | O_DIRECTORY);
    SHOW_OK("openat d/new O_CREAT", openat(dir, "new", O_CREAT | O_WRONLY, 0644));
    SHOW("stat d/new", stat("d/new", &st));
    SHOW_OK("openat absolute", openat(12345, "/", O_RDONLY));
    SHOW("openat bad dirfd", openat(12345, "new", O_RDONLY));
    SHOW("openat -1", openat(-1, "new", O_RDONLY));
    int file = open("a", O_RDONLY);
    SHOW("openat file dirfd", openat(file, "x", O_RDONLY));
    SHOW_OK("openat AT_FDCWD", openat(AT_FDCWD, "d/new", O_RDONLY));
    SHOW_OK("openat d ..", openat(dir, "../a", O_RDONLY));

    /* the lowest free descriptor is used */
    close(3);
    int again = open("a", O_RDONLY);
    printf("lowest free: %d\n", again);
    return 0;
}
