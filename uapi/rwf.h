/* Per-call flags of preadv2(2)/pwritev2(2) and io_uring's rw_flags
 * (linux/fs.h). Safe beside a libc: liburing includes it through linux/fs.h. */
#ifndef SLUICE_UAPI_RWF_H
#define SLUICE_UAPI_RWF_H
#pragma GCC system_header

#include "types.h"

typedef int __kernel_rwf_t;

#define RWF_HIPRI ((__kernel_rwf_t)0x00000001)
#define RWF_DSYNC ((__kernel_rwf_t)0x00000002)
#define RWF_SYNC ((__kernel_rwf_t)0x00000004)
#define RWF_NOWAIT ((__kernel_rwf_t)0x00000008)
#define RWF_APPEND ((__kernel_rwf_t)0x00000010)
#define RWF_SUPPORTED (RWF_HIPRI | RWF_DSYNC | RWF_SYNC | RWF_NOWAIT | RWF_APPEND)

#endif
