/* timerfd_create(2) / timerfd_settime(2) flags (linux/timerfd.h). */
#ifndef SLUICE_UAPI_TIMERFD_H
#define SLUICE_UAPI_TIMERFD_H
#pragma GCC system_header

#include "fcntl.h"

#define TFD_TIMER_ABSTIME (1 << 0)
#define TFD_TIMER_CANCEL_ON_SET (1 << 1)
#define TFD_CLOEXEC O_CLOEXEC
#define TFD_NONBLOCK O_NONBLOCK

#endif
