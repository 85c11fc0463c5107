/* fsync, fdatasync, sync, syncfs, sync_file_range, fallocate, fadvise64,
 * statfs and fstatfs: results and error cases. */
#define _GNU_SOURCE
#include "fs_util.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
    int fd = open("f", O_CREAT | O_RDWR, 0644);
    write(fd, "data", 4);
    int ro = open("f", O_RDONLY);
    mkdir("d", 0755);
    int dir = open("d", O_RDONLY);
    SHOW("fsync", fsync(fd));
    SHOW("fsync O_RDONLY", fsync(ro));
    SHOW("fsync directory", fsync(dir));
    SHOW("fsync bad", fsync(999));
    SHOW("fdatasync", fdatasync(fd));
    SHOW("fdatasync bad", fdatasync(-1));
    sync();
    printf("sync returned\n");
    SHOW("syncfs", syncfs(fd));
    SHOW("syncfs bad", syncfs(999));
    SHOW("sync_file_range", sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE));
    SHOW("sync_file_range all flags", sync_file_range(fd, 0, 4, 7));
    SHOW("sync_file_range bad flags", sync_file_range(fd, 0, 4, 8));
    SHOW("sync_file_range negative offset", sync_file_range(fd, -1, 4, 0));
    SHOW("sync_file_range negative length", sync_file_range(fd, 0, -4, 0));
    SHOW("sync_file_range bad fd", sync_file_range(999, 0, 4, 0));

    struct stat st;
    SHOW("fallocate 0..8192", fallocate(fd, 0, 0, 8192));
    fstat(fd, &st);
    printf("size %ld\n", (long)st.st_size);
    SHOW("fallocate KEEP_SIZE past end", fallocate(fd, FALLOC_FL_KEEP_SIZE, 8192, 4096));
    fstat(fd, &st);
    printf("size %ld\n", (long)st.st_size);
    SHOW("fallocate inside", fallocate(fd, 0, 100, 100));
    fstat(fd, &st);
    printf("size %ld\n", (long)st.st_size);
    SHOW("fallocate zero length", fallocate(fd, 0, 0, 0));
    SHOW("fallocate negative offset", fallocate(fd, 0, -1, 10));
    SHOW("fallocate O_RDONLY", fallocate(ro, 0, 0, 10));
    SHOW("fallocate directory", fallocate(dir, 0, 0, 10));
    SHOW("fallocate bad fd", fallocate(999, 0, 0, 10));
    SHOW("fallocate PUNCH_HOLE without KEEP_SIZE", fallocate(fd, FALLOC_FL_PUNCH_HOLE, 0, 10));
    int null = open("/dev/null", O_RDWR);
    SHOW("fallocate /dev/null", fallocate(null, 0, 0, 10));

    SHOW("fadvise DONTNEED", posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) ? -1 : 0);
    char buffer[8] = { 0 };
    SHOW("read after DONTNEED", pread(fd, buffer, 4, 0));
    printf("data: %s\n", buffer);
    SHOW("fadvise SEQUENTIAL", syscall(SYS_fadvise64, fd, 0, 0, POSIX_FADV_SEQUENTIAL));
    SHOW("fadvise RANDOM", syscall(SYS_fadvise64, fd, 0, 0, POSIX_FADV_RANDOM));
    SHOW("fadvise WILLNEED", syscall(SYS_fadvise64, fd, 0, 4096, POSIX_FADV_WILLNEED));
    SHOW("fadvise bad advice", syscall(SYS_fadvise64, fd, 0, 0, 99));
    SHOW("fadvise negative length", syscall(SYS_fadvise64, fd, 0, -1, POSIX_FADV_NORMAL));
    SHOW("fadvise bad fd", syscall(SYS_fadvise64, 999, 0, 0, POSIX_FADV_NORMAL));

    struct statfs sfs;
    SHOW("statfs .", statfs(".", &sfs));
    printf("statfs . namelen %ld bsize>0 %d blocks>=bfree %d\n", (long)sfs.f_namelen, sfs.f_bsize > 0,
           sfs.f_blocks >= sfs.f_bfree);
    SHOW("fstatfs", fstatfs(fd, &sfs));
    printf("fstatfs namelen %ld\n", (long)sfs.f_namelen);
    SHOW("statfs /proc", statfs("/proc", &sfs));
    printf("statfs /proc type %lx\n", (long)sfs.f_type);
    SHOW("statfs missing", statfs("missing", &sfs));
    SHOW("statfs NULL buffer", syscall(SYS_statfs, ".", NULL));
    SHOW("statfs NULL path", syscall(SYS_statfs, NULL, &sfs));
    SHOW("fstatfs bad fd", fstatfs(999, &sfs));
    return 0;
}
