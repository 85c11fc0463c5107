/* Shared by the fs_* compat programs: print what a call returned, or its
 * errno by name, so Linux and Sluice can be compared line by line. The
 * programs work in their working directory (a fresh scratch directory on the
 * host, /tmp or an ext2 mount in Sluice) and print nothing that differs
 * between machines: no inode numbers, device numbers, times or absolute
 * paths. */
#ifndef FS_UTIL_H
#define FS_UTIL_H

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const char* errno_name(int e)
{
    switch (e) {
#define N(x) case x: return #x;
    N(EPERM) N(ENOENT) N(EIO) N(ENXIO) N(E2BIG) N(EBADF) N(EAGAIN) N(ENOMEM) N(EACCES) N(EFAULT) N(EBUSY)
    N(EEXIST) N(EXDEV) N(ENODEV) N(ENOTDIR) N(EISDIR) N(EINVAL) N(ENFILE) N(EMFILE) N(ENOTTY) N(EFBIG)
    N(ENOSPC) N(ESPIPE) N(EROFS) N(EMLINK) N(EPIPE) N(ERANGE) N(ENAMETOOLONG) N(ENOLCK) N(ENOSYS)
    N(ENOTEMPTY) N(ELOOP) N(EOPNOTSUPP) N(EOVERFLOW)
#undef N
    default: return "E?";
    }
}

/* "what: 3" or "what: -1 ENOENT" */
#define SHOW(what, expr)                                                                  \
    do {                                                                                   \
        errno = 0;                                                                         \
        long show_result_ = (long)(expr);                                                  \
        if (show_result_ < 0)                                                              \
            printf("%s: -1 %s\n", what, errno_name(errno));                               \
        else                                                                               \
            printf("%s: %ld\n", what, show_result_);                                      \
    } while (0)

/* For calls returning an fd or -1: prints "ok" for any fd (numbers may be
 * compared separately), or the errno. */
#define SHOW_OK(what, expr)                                                               \
    do {                                                                                   \
        errno = 0;                                                                         \
        long show_result_ = (long)(expr);                                                  \
        if (show_result_ < 0)                                                              \
            printf("%s: -1 %s\n", what, errno_name(errno));                               \
        else                                                                               \
            printf("%s: ok\n", what);                                                     \
    } while (0)

#endif
