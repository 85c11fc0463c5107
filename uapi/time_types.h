/* The 64-bit time structures of the newer system calls (linux/time_types.h):
 * io_uring timeouts, clock_gettime64-style calls. Safe beside a libc. */
#ifndef SLUICE_UAPI_TIME_TYPES_H
#define SLUICE_UAPI_TIME_TYPES_H
#pragma GCC system_header

#include "types.h"

SLUICE_UAPI_BEGIN

struct __kernel_timespec {
    long long tv_sec;
    long long tv_nsec;
};

struct __kernel_itimerspec {
    struct __kernel_timespec it_interval;
    struct __kernel_timespec it_value;
};

struct __kernel_old_timeval {
    long tv_sec;
    long tv_usec;
};

struct __kernel_old_timespec {
    long tv_sec;
    long tv_nsec;
};

struct __kernel_sock_timeval {
    __s64 tv_sec;
    __s64 tv_usec;
};

SLUICE_UAPI_END

#endif
