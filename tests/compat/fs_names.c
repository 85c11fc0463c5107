/* Names: mkdir/mkdirat, rmdir, unlink/unlinkat (AT_REMOVEDIR), rename,
 * renameat, renameat2 (RENAME_NOREPLACE), link/linkat, symlink/symlinkat,
 * readlink/readlinkat, with their errors (EEXIST, ENOENT, ENOTDIR, EISDIR,
 * ENOTEMPTY, EINVAL, EPERM, EBUSY, ENAMETOOLONG, EFAULT). */
#define _GNU_SOURCE
#include "fs_util.h"
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE 1
#define RENAME_EXCHANGE 2
#endif

static void touch(const char* path, const char* data)
{
    int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
    write(fd, data, strlen(data));
    close(fd);
}

static void cat(const char* path)
{
    char buffer[64] = { 0 };
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        printf("cat %s: %s\n", path, errno_name(errno));
        return;
    }
    read(fd, buffer, sizeof buffer - 1);
    close(fd);
    printf("cat %s: %s\n", path, buffer);
}

static long nlink(const char* path)
{
    struct stat st;
    return lstat(path, &st) < 0 ? -1 : (long)st.st_nlink;
}

int main(void)
{
    umask(022);
    struct stat st;
    /* mkdir */
    SHOW("mkdir d", mkdir("d", 0777));
    stat("d", &st);
    printf("d mode %o nlink %lu\n", st.st_mode, (unsigned long)st.st_nlink);
    SHOW("mkdir d again", mkdir("d", 0755));
    SHOW("mkdir d/", mkdir("d/", 0755));
    SHOW("mkdir missing/x", mkdir("missing/x", 0755));
    SHOW("mkdir empty", mkdir("", 0755));
    SHOW("mkdir NULL", syscall(SYS_mkdir, NULL, 0755));
    SHOW("mkdir .", mkdir(".", 0755));
    SHOW("mkdir ..", mkdir("..", 0755));
    SHOW("mkdir /", mkdir("/", 0755));
    SHOW("mkdir d/sub/", mkdir("d/sub/", 0700));
    SHOW("mkdir d/sub sticky", mkdir("d/sticky", 01777));
    stat("d/sticky", &st);
    printf("d/sticky mode %o\n", st.st_mode);
    printf("d nlink after two subdirs %ld\n", nlink("d"));
    touch("f", "file f");
    SHOW("mkdir f/x", mkdir("f/x", 0755));
    SHOW("mkdir f", mkdir("f", 0755));
    int dir = open("d", O_RDONLY | O_DIRECTORY);
    SHOW("mkdirat d x", mkdirat(dir, "x", 0755));
    SHOW("stat d/x", stat("d/x", &st));
    SHOW("mkdirat bad dirfd", mkdirat(999, "x", 0755));

    /* rmdir */
    SHOW("rmdir d (not empty)", rmdir("d"));
    SHOW("rmdir d/x", rmdir("d/x"));
    SHOW("rmdir d/x again", rmdir("d/x"));
    SHOW("rmdir f", rmdir("f"));
    SHOW("rmdir d/sub/.", rmdir("d/sub/."));
    SHOW("rmdir d/sub/..", rmdir("d/sub/.."));
    SHOW("rmdir d/sub/", rmdir("d/sub/"));
    SHOW("rmdir /", rmdir("/"));

    /* unlink */
    touch("g", "file g");
    SHOW("unlink g", unlink("g"));
    SHOW("unlink g again", unlink("g"));
    SHOW("unlink d", unlink("d"));
    SHOW("unlink f/", unlink("f/"));
    SHOW("unlink f/x", unlink("f/x"));
    SHOW("unlinkat AT_REMOVEDIR d/sticky", unlinkat(AT_FDCWD, "d/sticky", AT_REMOVEDIR));
    SHOW("unlinkat AT_REMOVEDIR f", unlinkat(AT_FDCWD, "f", AT_REMOVEDIR));
    SHOW("unlinkat bad flags", unlinkat(AT_FDCWD, "f", 0x1));
    touch("d/inner", "inner");
    SHOW("unlinkat d inner", unlinkat(dir, "inner", 0));
    SHOW("unlinkat file as dirfd", unlinkat(open("f", O_RDONLY), "x", 0));

    /* an open file outlives its name */
    touch("h", "still here");
    int h = open("h", O_RDONLY);
    unlink("h");
    char buffer[32] = { 0 };
    SHOW("read unlinked", read(h, buffer, sizeof buffer - 1));
    printf("unlinked content: %s\n", buffer);
    SHOW("fstat unlinked", fstat(h, &st));
    printf("unlinked nlink %lu\n", (unsigned long)st.st_nlink);
    close(h);

    /* symlink and readlink */
    SHOW("symlink f l", symlink("f", "l"));
    SHOW("symlink f l again", symlink("f", "l"));
    SHOW("symlink empty target", symlink("", "e"));
    SHOW("symlink to d/", symlink("x", "d/"));
    SHOW("symlink long target", symlink("a/b/c/../../d/very/long/target/name/that/is/not/there", "long"));
    char target[256];
    long n = readlink("l", target, sizeof target);
    printf("readlink l: %ld %.*s\n", n, (int)(n > 0 ? n : 0), target);
    n = readlink("long", target, 10);
    printf("readlink long into 10: %ld %.*s\n", n, (int)(n > 0 ? n : 0), target);
    SHOW("readlink f (not a link)", readlink("f", target, sizeof link));
    SHOW("readlink missing", readlink("missing", target, sizeof link));
    SHOW("readlink size 0", readlink("l", target, 0));
    SHOW("readlink size -1", syscall(SYS_readlink, "l", target, -1));
    SHOW("readlink NULL buffer", syscall(SYS_readlink, "l", NULL, 10));
    SHOW("symlinkat d in", symlinkat("../f", dir, "in"));
    cat("d/in");
    n = readlinkat(dir, "in", target, sizeof target);
    printf("readlinkat d in: %ld %.*s\n", n, (int)(n > 0 ? n : 0), target);
    SHOW("readlinkat bad dirfd", readlinkat(999, "in", target, sizeof link));
    SHOW("unlink l (the link, not f)", unlink("l"));
    cat("f");

    /* hard links */
    SHOW("link f f2", link("f", "f2"));
    printf("nlink f %ld f2 %ld\n", nlink("f"), nlink("f2"));
    cat("f2");
    SHOW("link f f2 again", link("f", "f2"));
    SHOW("link d d2", link("d", "d2"));
    SHOW("link missing x", link("missing", "x"));
    SHOW("link f missing/x", link("f", "missing/x"));
    SHOW("unlink f", unlink("f"));
    printf("nlink f2 %ld\n", nlink("f2"));
    cat("f2");
    symlink("f2", "l2");
    SHOW("link l2 hl (the link itself)", link("l2", "hl"));
    lstat("hl", &st);
    printf("hl is a symlink: %d\n", S_ISLNK(st.st_mode));
    SHOW("linkat AT_SYMLINK_FOLLOW", linkat(AT_FDCWD, "l2", AT_FDCWD, "hf", AT_SYMLINK_FOLLOW));
    lstat("hf", &st);
    printf("hf is a regular file: %d, nlink f2 %ld\n", S_ISREG(st.st_mode), nlink("f2"));
    SHOW("linkat bad flags", linkat(AT_FDCWD, "f2", AT_FDCWD, "z", 0x1));
    SHOW("linkat d", linkat(AT_FDCWD, "f2", dir, "f3", 0));
    printf("nlink f2 %ld\n", nlink("f2"));

    /* rename */
    touch("a", "content a");
    touch("b", "content b");
    SHOW("rename a c", rename("a", "c"));
    cat("c");
    SHOW("rename a c again", rename("a", "c"));
    SHOW("rename c b (replaces)", rename("c", "b"));
    cat("b");
    SHOW("rename b b", rename("b", "b"));
    SHOW("rename b f2 (hard link pair)", rename("f2", "hf"));
    mkdir("m", 0755);
    mkdir("n", 0755);
    touch("n/x", "x");
    SHOW("rename file over dir", rename("b", "m"));
    SHOW("rename dir over file", rename("m", "b"));
    SHOW("rename dir over non-empty dir", rename("m", "n"));
    SHOW("rename dir into itself", rename("n", "n/sub"));
    SHOW("rename dir over empty dir", rename("n", "m"));
    SHOW("stat m/x", stat("m/x", &st));
    SHOW("stat n", stat("n", &st));
    SHOW("rename m/x into d", rename("m/x", "d/x"));
    cat("d/x");
    SHOW("rename . x", rename(".", "x"));
    SHOW("rename x ..", rename("d/x", ".."));
    SHOW("renameat", renameat(dir, "x", AT_FDCWD, "back"));
    cat("back");
    touch("y", "y");
    SHOW("renameat2 NOREPLACE existing", syscall(SYS_renameat2, AT_FDCWD, "back", AT_FDCWD, "y", RENAME_NOREPLACE));
    SHOW("renameat2 NOREPLACE new", syscall(SYS_renameat2, AT_FDCWD, "back", AT_FDCWD, "z", RENAME_NOREPLACE));
    cat("z");
    SHOW("renameat2 NOREPLACE|EXCHANGE", syscall(SYS_renameat2, AT_FDCWD, "z", AT_FDCWD, "y", 3));
    SHOW("renameat2 bad flags", syscall(SYS_renameat2, AT_FDCWD, "z", AT_FDCWD, "y", 0x100));
    SHOW("renameat2 missing NOREPLACE", syscall(SYS_renameat2, AT_FDCWD, "nothing", AT_FDCWD, "w", RENAME_NOREPLACE));
    SHOW("rename NULL", syscall(SYS_rename, NULL, "w"));
    SHOW("rename to NULL", syscall(SYS_rename, "z", NULL));
    SHOW("rename /dev/null here (EXDEV)", rename("/dev/null", "null"));
    /* renaming an open directory keeps descriptors working */
    int m = open("m", O_RDONLY | O_DIRECTORY);
    SHOW("rename m mm", rename("m", "mm"));
    touch("mm/t", "t");
    SHOW("fstatat m t after rename", fstatat(m, "t", &st, 0));
    return 0;
}
