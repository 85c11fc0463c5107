/* getdents64(2) records (struct linux_dirent64; the kernel keeps it out of
 * its exported headers, a libc's struct dirent64 has the same layout). The
 * d_type values are in uapi/fcntl.h. */
#ifndef SLUICE_UAPI_DIRENT_H
#define SLUICE_UAPI_DIRENT_H
#pragma GCC system_header

#include "fcntl.h"
#include "types.h"

SLUICE_UAPI_BEGIN

/* Records are d_reclen bytes, 8-byte aligned; the name is NUL-terminated. */
struct linux_dirent64 {
    __u64 d_ino;
    __s64 d_off;
    __u16 d_reclen;
    __u8 d_type;
    char d_name[];
};

SLUICE_UAPI_END

#endif
