/* Host glibc headers, for the ABI facts the kernel does not export as
 * headers (linux_dirent64, UTIME_*, eventfd and splice flags, umount2 flags,
 * the wait status encoding) but every libc defines with the kernel's values. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/times.h>
#include <sys/wait.h>
