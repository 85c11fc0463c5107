/* poll(2) event bits and struct pollfd, as Linux x86-64 (asm-generic/poll.h). */
#ifndef SLUICE_UAPI_POLL_H
#define SLUICE_UAPI_POLL_H
#pragma GCC system_header

#include "types.h"

#define POLLIN 0x0001
#define POLLPRI 0x0002
#define POLLOUT 0x0004
#define POLLERR 0x0008
#define POLLHUP 0x0010
#define POLLNVAL 0x0020
#define POLLRDNORM 0x0040
#define POLLRDBAND 0x0080
#define POLLWRNORM 0x0100
#define POLLWRBAND 0x0200
#define POLLMSG 0x0400
#define POLLREMOVE 0x1000
#define POLLRDHUP 0x2000

SLUICE_UAPI_BEGIN

struct pollfd {
    int fd;
    short events;
    short revents;
};

SLUICE_UAPI_END

#endif
