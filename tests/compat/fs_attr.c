/* Attributes: chmod/fchmod/fchmodat, chown/fchown/lchown/fchownat,
 * utimensat (UTIME_NOW/UTIME_OMIT, AT_SYMLINK_NOFOLLOW, a NULL path),
 * utimes, futimesat, utime, access/faccessat/faccessat2, truncate/
 * ftruncate, umask, and their errors. */
#define _GNU_SOURCE
#include "fs_util.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>
#include <utime.h>

static void mode_of(const char* path)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        printf("mode %s: %s\n", path, errno_name(errno));
    else
        printf("mode %s: %o uid %u gid %u size %ld\n", path, st.st_mode, st.st_uid, st.st_gid,
               S_ISDIR(st.st_mode) ? 0l : (long)st.st_size);
}

static void times_of(const char* path)
{
    struct stat st;
    lstat(path, &st);
    printf("times %s: atime %ld mtime %ld\n", path, (long)st.st_atime, (long)st.st_mtime);
}

int main(void)
{
    printf("umask was %o\n", umask(027));
    printf("umask now %o\n", umask(022));
    printf("umask with high bits %o\n", umask(0777777));
    printf("umask %o\n", umask(022));
    int fd = open("f", O_CREAT | O_RDWR, 0644);
    write(fd, "0123456789", 10);
    mkdir("d", 0755);
    symlink("f", "l");

    /* chmod */
    SHOW("chmod f 600", chmod("f", 0600));
    mode_of("f");
    SHOW("chmod f 7777", chmod("f", 07777));
    mode_of("f");
    SHOW("chmod f with type bits", chmod("f", 0100640));
    mode_of("f");
    SHOW("chmod l (follows)", chmod("l", 0604));
    mode_of("f");
    mode_of("l");
    SHOW("chmod missing", chmod("missing", 0644));
    SHOW("chmod NULL", syscall(SYS_chmod, NULL, 0644));
    SHOW("fchmod 640", fchmod(fd, 0640));
    mode_of("f");
    SHOW("fchmod bad", fchmod(999, 0640));
    int path = open("f", O_PATH);
    /* raw: musl's fchmod retries EBADF through /proc/self/fd */
    SHOW("fchmod O_PATH", syscall(SYS_fchmod, path, 0640));
    SHOW("fchmodat d", fchmodat(AT_FDCWD, "d", 0700, 0));
    mode_of("d");

    /* chown */
    SHOW("chown f 1 2", chown("f", 1, 2));
    mode_of("f");
    SHOW("chown f -1 3", chown("f", -1, 3));
    mode_of("f");
    SHOW("chown f 4 -1", chown("f", 4, -1));
    mode_of("f");
    SHOW("lchown l 5 6", lchown("l", 5, 6));
    mode_of("l");
    mode_of("f");
    SHOW("fchown 0 0", fchown(fd, 0, 0));
    mode_of("f");
    SHOW("fchownat NOFOLLOW", fchownat(AT_FDCWD, "l", 7, 7, AT_SYMLINK_NOFOLLOW));
    mode_of("l");
    SHOW("fchownat EMPTY_PATH", fchownat(fd, "", 8, 8, AT_EMPTY_PATH));
    mode_of("f");
    SHOW("fchownat bad flags", fchownat(AT_FDCWD, "f", 0, 0, 0x2));
    SHOW("chown missing", chown("missing", 0, 0));
    fchown(fd, 0, 0);
    /* set-user-ID and set-group-ID go when the owner changes */
    chmod("f", 06755);
    SHOW("chown suid file", chown("f", 0, 0));
    mode_of("f");
    chmod("f", 06745);
    SHOW("chown sgid without group exec", chown("f", 0, 0));
    mode_of("f");
    chmod("f", 0644);

    /* times */
    struct timespec ts[2] = { { 1000000, 0 }, { 2000000, 0 } };
    SHOW("utimensat f", utimensat(AT_FDCWD, "f", ts, 0));
    times_of("f");
    ts[0].tv_nsec = UTIME_OMIT;
    ts[1].tv_sec = 3000000;
    SHOW("utimensat OMIT atime", utimensat(AT_FDCWD, "f", ts, 0));
    times_of("f");
    ts[0].tv_nsec = 1000000000;
    SHOW("utimensat bad nsec", utimensat(AT_FDCWD, "f", ts, 0));
    ts[0].tv_nsec = -1;
    SHOW("utimensat negative nsec", utimensat(AT_FDCWD, "f", ts, 0));
    ts[0] = (struct timespec){ 4000000, 0 };
    ts[1] = (struct timespec){ 5000000, 0 };
    SHOW("utimensat l NOFOLLOW", utimensat(AT_FDCWD, "l", ts, AT_SYMLINK_NOFOLLOW));
    times_of("l");
    times_of("f");
    SHOW("futimens", futimens(fd, ts));
    times_of("f");
    SHOW("utimensat NULL path AT_FDCWD", syscall(SYS_utimensat, AT_FDCWD, NULL, ts, 0));
    SHOW("utimensat bad flags", utimensat(AT_FDCWD, "f", ts, 0x2));
    SHOW("utimensat missing", utimensat(AT_FDCWD, "missing", ts, 0));
    SHOW("utimensat bad times pointer", syscall(SYS_utimensat, AT_FDCWD, "f", (void*)8, 0));
    ts[0].tv_nsec = UTIME_OMIT;
    ts[1].tv_nsec = UTIME_OMIT;
    SHOW("utimensat both OMIT missing", utimensat(AT_FDCWD, "missing", ts, 0));
    SHOW("utimensat both OMIT", utimensat(AT_FDCWD, "f", ts, 0));
    struct timeval tv[2] = { { 6000000, 0 }, { 7000000, 999999 } };
    SHOW("utimes", utimes("f", tv));
    times_of("f");
    tv[1].tv_usec = 1000000;
    SHOW("utimes bad usec", utimes("f", tv));
    tv[1].tv_usec = 0;
    SHOW("futimesat", syscall(SYS_futimesat, AT_FDCWD, "f", tv));
    struct utimbuf ub = { 8000000, 9000000 };
    SHOW("utime", utime("f", &ub));
    times_of("f");

    /* access */
    SHOW("access f F_OK", access("f", F_OK));
    SHOW("access f R_OK|W_OK", access("f", R_OK | W_OK));
    SHOW("access f X_OK (no x bits)", access("f", X_OK));
    chmod("f", 0100);
    SHOW("access f X_OK (u+x)", access("f", X_OK));
    SHOW("access f R_OK as root", access("f", R_OK));
    chmod("f", 0644);
    SHOW("access d X_OK", access("d", X_OK));
    SHOW("access missing", access("missing", F_OK));
    SHOW("access bad mode", access("f", 8));
    SHOW("access f/", access("f/", F_OK));
    SHOW("faccessat", faccessat(AT_FDCWD, "f", R_OK, 0));
    SHOW("faccessat2 EACCESS", syscall(SYS_faccessat2, AT_FDCWD, "f", R_OK, AT_EACCESS));
    SHOW("faccessat2 bad flags", syscall(SYS_faccessat2, AT_FDCWD, "f", R_OK, 0x1));
    SHOW("faccessat2 NOFOLLOW dangling", (symlink("none", "dang"), syscall(SYS_faccessat2, AT_FDCWD, "dang", F_OK, AT_SYMLINK_NOFOLLOW)));
    SHOW("access dangling", access("dang", F_OK));
    SHOW("faccessat2 EMPTY_PATH", syscall(SYS_faccessat2, fd, "", R_OK, AT_EMPTY_PATH));
    SHOW("access /proc", access("/proc", R_OK | X_OK));

    /* truncate */
    SHOW("ftruncate 4", ftruncate(fd, 4));
    mode_of("f");
    SHOW("ftruncate 100 (grows)", ftruncate(fd, 100));
    mode_of("f");
    char buffer[8];
    SHOW("pread zeros", pread(fd, buffer, 4, 50));
    printf("zeros: %d %d %d %d\n", buffer[0], buffer[1], buffer[2], buffer[3]);
    SHOW("ftruncate -1", ftruncate(fd, -1));
    SHOW("ftruncate bad fd", ftruncate(999, 0));
    int ro = open("f", O_RDONLY);
    SHOW("ftruncate O_RDONLY", ftruncate(ro, 0));
    int dfd = open("d", O_RDONLY);
    SHOW("ftruncate directory", ftruncate(dfd, 0));
    SHOW("truncate f 7", truncate("f", 7));
    mode_of("f");
    SHOW("truncate l 3 (follows)", truncate("l", 3));
    mode_of("f");
    SHOW("truncate d", truncate("d", 0));
    SHOW("truncate missing", truncate("missing", 0));
    SHOW("truncate -1", truncate("f", -1));
    SHOW("truncate /dev/null", truncate("/dev/null", 0));
    SHOW("truncate NULL", syscall(SYS_truncate, NULL, 0));
    return 0;
}
