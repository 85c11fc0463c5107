/* wait4(2) / waitid(2) options and the status word (linux/wait.h; the
 * encoding is what a libc's W* macros decode). */
#ifndef SLUICE_UAPI_WAIT_H
#define SLUICE_UAPI_WAIT_H
#pragma GCC system_header

#define WNOHANG 0x00000001
#define WUNTRACED 0x00000002
#define WSTOPPED WUNTRACED
#define WEXITED 0x00000004
#define WCONTINUED 0x00000008
#define WNOWAIT 0x01000000
#define __WNOTHREAD 0x20000000
#define __WALL 0x40000000
#define __WCLONE 0x80000000

/* waitid(2) idtype */
#define P_ALL 0
#define P_PID 1
#define P_PGID 2
#define P_PIDFD 3

/* The status word wait4 stores: exit code in bits 15-8 with 0 below; a
 * terminating signal in bits 6-0 (bit 7 = core dumped); a stop as 0x7f with
 * the signal in bits 15-8; a continue as 0xffff. */
#define SLUICE_W_EXITCODE(code, sig) (((code) << 8) | (sig))
#define SLUICE_W_STOPCODE(sig) (((sig) << 8) | 0x7f)
#define SLUICE_W_CONTINUED 0xffff
#define SLUICE_WCOREFLAG 0x80

#endif
