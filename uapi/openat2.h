/* openat2(2) (linux/openat2.h). Safe beside a libc: liburing includes it. */
#ifndef SLUICE_UAPI_OPENAT2_H
#define SLUICE_UAPI_OPENAT2_H
#pragma GCC system_header

#include "types.h"

#define RESOLVE_NO_XDEV 0x01
#define RESOLVE_NO_MAGICLINKS 0x02
#define RESOLVE_NO_SYMLINKS 0x04
#define RESOLVE_BENEATH 0x08
#define RESOLVE_IN_ROOT 0x10
#define RESOLVE_CACHED 0x20

SLUICE_UAPI_BEGIN

struct open_how {
    __u64 flags;
    __u64 mode;
    __u64 resolve;
};

SLUICE_UAPI_END

#endif
