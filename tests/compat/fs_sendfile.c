/* sendfile and copy_file_range between files: with and without offsets,
 * what happens to the positions, short copies at the end, and the errors. */
#define _GNU_SOURCE
#include "fs_util.h"
#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static void cat(const char* path)
{
    char buffer[128] = { 0 };
    int fd = open(path, O_RDONLY);
    long n = read(fd, buffer, sizeof buffer - 1);
    close(fd);
    printf("%s (%ld): %s\n", path, n, buffer);
}

int main(void)
{
    int src = open("src", O_CREAT | O_RDWR | O_TRUNC, 0644);
    write(src, "abcdefghijklmnopqrstuvwxyz", 26);
    int dst = open("dst", O_CREAT | O_RDWR | O_TRUNC, 0644);
    lseek(src, 0, SEEK_SET);
    SHOW("sendfile 10", sendfile(dst, src, NULL, 10));
    SHOW("src position", lseek(src, 0, SEEK_CUR));
    SHOW("dst position", lseek(dst, 0, SEEK_CUR));
    off_t offset = 20;
    SHOW("sendfile at 20, 100", sendfile(dst, src, &offset, 100));
    printf("offset now %ld\n", (long)offset);
    SHOW("src position unchanged", lseek(src, 0, SEEK_CUR));
    SHOW("sendfile at end", sendfile(dst, src, &offset, 100));
    cat("dst");
    offset = -1;
    SHOW("sendfile negative offset", sendfile(dst, src, &offset, 1));
    SHOW("sendfile bad offset pointer", syscall(SYS_sendfile, dst, src, (void*)8, 1));
    SHOW("sendfile bad in", sendfile(dst, 999, NULL, 1));
    SHOW("sendfile bad out", sendfile(999, src, NULL, 1));
    int wo = open("src", O_WRONLY);
    SHOW("sendfile from O_WRONLY", sendfile(dst, wo, NULL, 1));
    int ro = open("dst", O_RDONLY);
    SHOW("sendfile to O_RDONLY", sendfile(ro, src, NULL, 1));
    int app = open("dst", O_WRONLY | O_APPEND);
    SHOW("sendfile to O_APPEND", sendfile(app, src, NULL, 1));
    int null = open("/dev/null", O_WRONLY);
    offset = 0;
    SHOW("sendfile to /dev/null", sendfile(null, src, &offset, 26));
    SHOW("sendfile count 0", sendfile(dst, src, NULL, 0));

    /* copy_file_range */
    int out = open("out", O_CREAT | O_RDWR | O_TRUNC, 0644);
    off_t in_off = 5, out_off = 0;
    SHOW("copy_file_range 5..15", copy_file_range(src, &in_off, out, &out_off, 10, 0));
    printf("in_off %ld out_off %ld\n", (long)in_off, (long)out_off);
    SHOW("out position", lseek(out, 0, SEEK_CUR));
    lseek(src, 0, SEEK_SET);
    SHOW("copy_file_range positions", copy_file_range(src, NULL, out, NULL, 3, 0));
    SHOW("src position after", lseek(src, 0, SEEK_CUR));
    SHOW("out position after", lseek(out, 0, SEEK_CUR));
    cat("out");
    in_off = 100;
    SHOW("copy_file_range past end", copy_file_range(src, &in_off, out, NULL, 3, 0));
    SHOW("copy_file_range flags", copy_file_range(src, NULL, out, NULL, 3, 1));
    SHOW("copy_file_range bad fd", copy_file_range(999, NULL, out, NULL, 3, 0));
    SHOW("copy_file_range to O_APPEND", copy_file_range(src, NULL, app, NULL, 3, 0));
    SHOW("copy_file_range from O_WRONLY", copy_file_range(wo, NULL, out, NULL, 3, 0));
    mkdir("d", 0755);
    int dir = open("d", O_RDONLY);
    SHOW("copy_file_range from directory", copy_file_range(dir, NULL, out, NULL, 3, 0));
    in_off = 0;
    out_off = 2;
    SHOW("copy_file_range overlapping", copy_file_range(src, &in_off, src, &out_off, 5, 0));
    in_off = 0;
    out_off = 26;
    SHOW("copy_file_range same file apart", copy_file_range(src, &in_off, src, &out_off, 5, 0));
    cat("src");
    return 0;
}
