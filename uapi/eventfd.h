/* eventfd2(2) flags (the kernel's linux/eventfd.h; a libc's sys/eventfd.h
 * carries the same values). */
#ifndef SLUICE_UAPI_EVENTFD_H
#define SLUICE_UAPI_EVENTFD_H
#pragma GCC system_header

#include "fcntl.h"

#define EFD_SEMAPHORE (1 << 0)
#define EFD_CLOEXEC O_CLOEXEC
#define EFD_NONBLOCK O_NONBLOCK

#endif
