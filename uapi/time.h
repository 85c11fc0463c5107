/* Time as x86-64 system calls see it (linux/time.h): clock ids, timers, and
 * the native-width structures (on x86-64 a long is 64 bits, so these equal
 * the __kernel_* forms of uapi/time_types.h). */
#ifndef SLUICE_UAPI_TIME_H
#define SLUICE_UAPI_TIME_H
#pragma GCC system_header

#include "types.h"

#define CLOCK_REALTIME 0
#define CLOCK_MONOTONIC 1
#define CLOCK_PROCESS_CPUTIME_ID 2
#define CLOCK_THREAD_CPUTIME_ID 3
#define CLOCK_MONOTONIC_RAW 4
#define CLOCK_REALTIME_COARSE 5
#define CLOCK_MONOTONIC_COARSE 6
#define CLOCK_BOOTTIME 7
#define CLOCK_REALTIME_ALARM 8
#define CLOCK_BOOTTIME_ALARM 9
#define CLOCK_TAI 11
#define MAX_CLOCKS 16

/* clock_nanosleep(2), timer_settime(2) flags */
#define TIMER_ABSTIME 0x01

/* setitimer(2) / getitimer(2) */
#define ITIMER_REAL 0
#define ITIMER_VIRTUAL 1
#define ITIMER_PROF 2

SLUICE_UAPI_BEGIN

struct timespec {
    long tv_sec;
    long tv_nsec;
};

struct timeval {
    long tv_sec;
    long tv_usec;
};

struct itimerspec {
    struct timespec it_interval;
    struct timespec it_value;
};

struct itimerval {
    struct timeval it_interval;
    struct timeval it_value;
};

struct timezone {
    int tz_minuteswest;
    int tz_dsttime;
};

/* times(2) */
struct tms {
    long tms_utime;
    long tms_stime;
    long tms_cutime;
    long tms_cstime;
};

SLUICE_UAPI_END

#endif
