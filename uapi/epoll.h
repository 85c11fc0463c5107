/* epoll(7) ABI (linux/eventpoll.h). */
#ifndef SLUICE_UAPI_EPOLL_H
#define SLUICE_UAPI_EPOLL_H
#pragma GCC system_header

#include "fcntl.h"
#include "types.h"

#define EPOLL_CLOEXEC O_CLOEXEC

#define EPOLL_CTL_ADD 1
#define EPOLL_CTL_DEL 2
#define EPOLL_CTL_MOD 3

/* The same bits as poll(2), plus the epoll-only modes at the top. */
#define EPOLLIN 0x00000001u
#define EPOLLPRI 0x00000002u
#define EPOLLOUT 0x00000004u
#define EPOLLERR 0x00000008u
#define EPOLLHUP 0x00000010u
#define EPOLLNVAL 0x00000020u
#define EPOLLRDNORM 0x00000040u
#define EPOLLRDBAND 0x00000080u
#define EPOLLWRNORM 0x00000100u
#define EPOLLWRBAND 0x00000200u
#define EPOLLMSG 0x00000400u
#define EPOLLRDHUP 0x00002000u
#define EPOLLEXCLUSIVE (1u << 28)
#define EPOLLWAKEUP (1u << 29)
#define EPOLLONESHOT (1u << 30)
#define EPOLLET (1u << 31)

SLUICE_UAPI_BEGIN

/* Packed on x86-64 only (12 bytes, data at offset 4): the 32-bit ABI's
 * layout kept for 64-bit so that one struct serves both. */
struct epoll_event {
    __u32 events;
    __u64 data;
} __attribute__((packed));

SLUICE_UAPI_END

#endif
