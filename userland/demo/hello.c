/* The default demo: a static musl program greeting from ring 3, with what
 * the kernel says about itself and the machine. */
#include <stdio.h>
#include <sys/utsname.h>
#include <unistd.h>

int main(int argc, char** argv)
{
    struct utsname u;
    printf("Hello from user space: %s, pid %d\n", argc > 0 ? argv[0] : "?", (int)getpid());
    if (uname(&u) == 0)
        printf("%s %s %s on %s\n", u.sysname, u.release, u.version, u.machine);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    long pages = sysconf(_SC_PHYS_PAGES);
    if (cpus > 0 && pages > 0)
        printf("%ld CPUs, %ld MiB of memory\n", cpus, pages / 256);
    printf("Try: tools/run -- init=/bin/sh   (a busybox shell)\n");
    return 0;
}
