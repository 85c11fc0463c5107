/* stat, lstat, fstat, newfstatat (AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH) and
 * statx: types, modes, sizes, link counts, and the errors. */
#define _GNU_SOURCE
#include "fs_util.h"
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* musl has no statx: the Linux struct and the raw call. */
struct statx_timestamp_ {
    int64_t tv_sec;
    uint32_t tv_nsec;
    int32_t reserved;
};
struct statx_ {
    uint32_t stx_mask, stx_blksize;
    uint64_t stx_attributes;
    uint32_t stx_nlink, stx_uid, stx_gid;
    uint16_t stx_mode, spare0;
    uint64_t stx_ino, stx_size, stx_blocks, stx_attributes_mask;
    struct statx_timestamp_ stx_atime, stx_btime, stx_ctime, stx_mtime;
    uint32_t stx_rdev_major, stx_rdev_minor, stx_dev_major, stx_dev_minor;
    uint64_t spare[14];
};
#define STATX_TYPE 0x1u
#define STATX_SIZE 0x200u
#define STATX_BASIC_STATS 0x7ffu
#ifndef AT_STATX_FORCE_SYNC
#define AT_STATX_FORCE_SYNC 0x2000
#define AT_STATX_DONT_SYNC 0x4000
#endif
#define statx(d, p, f, m, b) syscall(SYS_statx, d, p, f, m, b)

static void show_stat(const char* what, int result, const struct stat* st)
{
    if (result < 0) {
        printf("%s: -1 %s\n", what, errno_name(errno));
        return;
    }
    /* A directory's size and blocks, and a symlink's blocks, are the
     * filesystem's own business (ext4 and tmpfs differ): not printed. */
    if (S_ISDIR(st->st_mode))
        printf("%s: mode %o nlink %lu uid %u gid %u\n", what, st->st_mode, (unsigned long)st->st_nlink,
               st->st_uid, st->st_gid);
    else if (S_ISLNK(st->st_mode))
        printf("%s: mode %o nlink %lu size %ld uid %u gid %u\n", what, st->st_mode, (unsigned long)st->st_nlink,
               (long)st->st_size, st->st_uid, st->st_gid);
    else
        printf("%s: mode %o nlink %lu size %ld uid %u gid %u blocks>0 %d\n", what, st->st_mode,
               (unsigned long)st->st_nlink, (long)st->st_size, st->st_uid, st->st_gid, st->st_blocks > 0);
}

int main(void)
{
    struct stat st;
    umask(022);
    int fd = open("f", O_CREAT | O_RDWR, 0640);
    write(fd, "12345", 5);
    mkdir("d", 0751);
    symlink("f", "l");
    symlink("d", "ld");
    symlink("none", "dangling");
    errno = 0;
    show_stat("stat f", stat("f", &st), &st);
    show_stat("stat d", stat("d", &st), &st);
    show_stat("stat l", stat("l", &st), &st);
    show_stat("lstat l", lstat("l", &st), &st);
    show_stat("stat ld/", stat("ld/", &st), &st);
    show_stat("lstat ld/", lstat("ld/", &st), &st);
    show_stat("lstat ld", lstat("ld", &st), &st);
    show_stat("stat dangling", stat("dangling", &st), &st);
    show_stat("lstat dangling", lstat("dangling", &st), &st);
    show_stat("stat missing", stat("missing", &st), &st);
    show_stat("stat f/", stat("f/", &st), &st);
    show_stat("stat f/x", stat("f/x", &st), &st);
    show_stat("stat empty", stat("", &st), &st);
    show_stat("fstat f", fstat(fd, &st), &st);
    show_stat("fstat bad", fstat(999, &st), &st);
    show_stat("stat /dev/null", stat("/dev/null", &st), &st);
    printf("/dev/null rdev %u:%u\n", major(st.st_rdev), minor(st.st_rdev));
    printf("stat / is a directory: %d\n", stat("/", &st) == 0 && S_ISDIR(st.st_mode));
    SHOW("stat NULL buffer", syscall(SYS_stat, "f", NULL));
    SHOW("stat kernel buffer", syscall(SYS_stat, "f", (void*)0xffffffff80000000ul));
    SHOW("stat NULL path", syscall(SYS_stat, NULL, &st));
    SHOW("fstat NULL buffer", syscall(SYS_fstat, fd, NULL));

    int dir = open("d", O_RDONLY);
    close(openat(dir, "inner", O_CREAT | O_WRONLY, 0600));
    show_stat("fstatat d inner", fstatat(dir, "inner", &st, 0), &st);
    show_stat("fstatat AT_FDCWD l", fstatat(AT_FDCWD, "l", &st, 0), &st);
    show_stat("fstatat l NOFOLLOW", fstatat(AT_FDCWD, "l", &st, AT_SYMLINK_NOFOLLOW), &st);
    show_stat("fstatat fd EMPTY_PATH", fstatat(fd, "", &st, AT_EMPTY_PATH), &st);
    show_stat("fstatat dir EMPTY_PATH", fstatat(dir, "", &st, AT_EMPTY_PATH), &st);
    printf("fstatat cwd EMPTY_PATH is a directory: %d\n", fstatat(AT_FDCWD, "", &st, AT_EMPTY_PATH) == 0 && S_ISDIR(st.st_mode));
    show_stat("fstatat empty no flag", fstatat(fd, "", &st, 0), &st);
    show_stat("fstatat bad flags", fstatat(AT_FDCWD, "f", &st, 0x4), &st);
    show_stat("fstatat bad dirfd", fstatat(999, "f", &st, 0), &st);
    show_stat("fstatat file as dirfd", fstatat(fd, "x", &st, 0), &st);
    printf("fstatat bad dirfd absolute: %d\n", fstatat(999, "/", &st, 0));
    int path = open("l", O_PATH | O_NOFOLLOW);
    show_stat("fstat O_PATH symlink", fstat(path, &st), &st);
    show_stat("fstatat O_PATH EMPTY_PATH", fstatat(path, "", &st, AT_EMPTY_PATH), &st);

    /* statx */
    struct statx_ sx;
    SHOW("statx f", statx(AT_FDCWD, "f", 0, STATX_BASIC_STATS, &sx));
    printf("statx mask&basic %x mode %o nlink %u size %llu blksize>0 %d\n", sx.stx_mask & STATX_BASIC_STATS,
           sx.stx_mode, sx.stx_nlink, (unsigned long long)sx.stx_size, sx.stx_blksize > 0);
    SHOW("statx l NOFOLLOW", statx(AT_FDCWD, "l", AT_SYMLINK_NOFOLLOW, STATX_TYPE, &sx));
    printf("statx l type %o\n", sx.stx_mode & S_IFMT);
    SHOW("statx fd EMPTY_PATH", statx(fd, "", AT_EMPTY_PATH, STATX_SIZE, &sx));
    printf("statx fd size %llu\n", (unsigned long long)sx.stx_size);
    SHOW("statx /dev/zero", statx(AT_FDCWD, "/dev/zero", 0, STATX_BASIC_STATS, &sx));
    printf("statx /dev/zero rdev %u:%u\n", sx.stx_rdev_major, sx.stx_rdev_minor);
    SHOW("statx reserved mask", statx(AT_FDCWD, "f", 0, 0x80000000u, &sx));
    SHOW("statx bad flags", statx(AT_FDCWD, "f", 0x1, STATX_BASIC_STATS, &sx));
    SHOW("statx both sync flags", statx(AT_FDCWD, "f", AT_STATX_FORCE_SYNC | AT_STATX_DONT_SYNC, 0, &sx));
    SHOW("statx FORCE_SYNC", statx(AT_FDCWD, "f", AT_STATX_FORCE_SYNC, 0, &sx));
    SHOW("statx missing", statx(AT_FDCWD, "missing", 0, 0, &sx));
    SHOW("statx NULL buffer", syscall(SYS_statx, AT_FDCWD, "f", 0, STATX_BASIC_STATS, NULL));
    SHOW("statx bad dirfd", statx(999, "f", 0, 0, &sx));
    return 0;
}
