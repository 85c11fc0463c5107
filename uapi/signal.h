/* Signals as the x86-64 rt_sigaction/rt_sigprocmask/sigaltstack system calls
 * and the signal frame see them (asm/signal.h, asm-generic/signal-defs.h,
 * asm-generic/siginfo.h, asm/sigcontext.h, asm-generic/ucontext.h).
 *
 * These are the kernel's layouts, not a libc's: the kernel sigset_t is one
 * 64-bit word (_NSIG = 64), and struct sigaction has the restorer before the
 * mask. */
#ifndef SLUICE_UAPI_SIGNAL_H
#define SLUICE_UAPI_SIGNAL_H
#pragma GCC system_header

#include "types.h"

#define _NSIG 64

#define SIGHUP 1
#define SIGINT 2
#define SIGQUIT 3
#define SIGILL 4
#define SIGTRAP 5
#define SIGABRT 6
#define SIGIOT 6
#define SIGBUS 7
#define SIGFPE 8
#define SIGKILL 9
#define SIGUSR1 10
#define SIGSEGV 11
#define SIGUSR2 12
#define SIGPIPE 13
#define SIGALRM 14
#define SIGTERM 15
#define SIGSTKFLT 16
#define SIGCHLD 17
#define SIGCONT 18
#define SIGSTOP 19
#define SIGTSTP 20
#define SIGTTIN 21
#define SIGTTOU 22
#define SIGURG 23
#define SIGXCPU 24
#define SIGXFSZ 25
#define SIGVTALRM 26
#define SIGPROF 27
#define SIGWINCH 28
#define SIGIO 29
#define SIGPOLL SIGIO
#define SIGPWR 30
#define SIGSYS 31
/* A libc reserves the first real-time signals for itself and defines its own
 * SIGRTMIN; these are the kernel's bounds. */
#ifndef SIGRTMIN
#define SIGRTMIN 32
#endif
#ifndef SIGRTMAX
#define SIGRTMAX _NSIG
#endif

/* sa_flags */
#define SA_NOCLDSTOP 0x00000001
#define SA_NOCLDWAIT 0x00000002
#define SA_SIGINFO 0x00000004
#define SA_UNSUPPORTED 0x00000400
#define SA_EXPOSE_TAGBITS 0x00000800
#define SA_RESTORER 0x04000000
#define SA_ONSTACK 0x08000000
#define SA_RESTART 0x10000000
#define SA_NODEFER 0x40000000
#define SA_RESETHAND 0x80000000
#define SA_NOMASK SA_NODEFER
#define SA_ONESHOT SA_RESETHAND

/* rt_sigprocmask how */
#define SIG_BLOCK 0
#define SIG_UNBLOCK 1
#define SIG_SETMASK 2

/* sa_handler values that are not handlers */
#define SIG_DFL_VALUE 0ul
#define SIG_IGN_VALUE 1ul
#define SIG_ERR_VALUE (~0ul)

/* sigaltstack */
#define SS_ONSTACK 1
#define SS_DISABLE 2
#define SS_AUTODISARM (1U << 31)
#define MINSIGSTKSZ 2048
#define SIGSTKSZ 8192

/* si_code: who sent it (<= 0 from user space) */
#define SI_USER 0
#define SI_KERNEL 0x80
#define SI_QUEUE -1
#define SI_TIMER -2
#define SI_MESGQ -3
#define SI_ASYNCIO -4
#define SI_SIGIO -5
#define SI_TKILL -6
#define SI_DETHREAD -7
#define SI_ASYNCNL -60

/* si_code for SIGILL */
#define ILL_ILLOPC 1
#define ILL_ILLOPN 2
#define ILL_ILLADR 3
#define ILL_ILLTRP 4
#define ILL_PRVOPC 5
#define ILL_PRVREG 6
#define ILL_COPROC 7
#define ILL_BADSTK 8
#define ILL_BADIADDR 9

/* si_code for SIGFPE */
#define FPE_INTDIV 1
#define FPE_INTOVF 2
#define FPE_FLTDIV 3
#define FPE_FLTOVF 4
#define FPE_FLTUND 5
#define FPE_FLTRES 6
#define FPE_FLTINV 7
#define FPE_FLTSUB 8
#define FPE_FLTUNK 14
#define FPE_CONDTRAP 15

/* si_code for SIGSEGV */
#define SEGV_MAPERR 1
#define SEGV_ACCERR 2
#define SEGV_BNDERR 3
#define SEGV_PKUERR 4

/* si_code for SIGBUS */
#define BUS_ADRALN 1
#define BUS_ADRERR 2
#define BUS_OBJERR 3
#define BUS_MCEERR_AR 4
#define BUS_MCEERR_AO 5

/* si_code for SIGTRAP */
#define TRAP_BRKPT 1
#define TRAP_TRACE 2
#define TRAP_BRANCH 3
#define TRAP_HWBKPT 4
#define TRAP_UNK 5

/* si_code for SIGCHLD */
#define CLD_EXITED 1
#define CLD_KILLED 2
#define CLD_DUMPED 3
#define CLD_TRAPPED 4
#define CLD_STOPPED 5
#define CLD_CONTINUED 6

/* si_code for SIGPOLL */
#define POLL_IN 1
#define POLL_OUT 2
#define POLL_MSG 3
#define POLL_ERR 4
#define POLL_PRI 5
#define POLL_HUP 6

/* sigevent.sigev_notify */
#define SIGEV_SIGNAL 0
#define SIGEV_NONE 1
#define SIGEV_THREAD 2
#define SIGEV_THREAD_ID 4

/* ucontext uc_flags */
#define UC_FP_XSTATE 0x1
#define UC_SIGCONTEXT_SS 0x2
#define UC_STRICT_RESTORE_SS 0x4

SLUICE_UAPI_BEGIN

typedef unsigned long sigset_t;

/* rt_sigaction(2)'s argument; sa_handler is also the SA_SIGINFO handler.
 * (A libc's signal.h may define sa_handler as a macro; not in here.) */
#pragma push_macro("sa_handler")
#undef sa_handler
struct sigaction {
    void (*sa_handler)(int);
    unsigned long sa_flags;
    void (*sa_restorer)(void);
    sigset_t sa_mask;
};
#pragma pop_macro("sa_handler")

typedef struct sigaltstack {
    void* ss_sp;
    int ss_flags;
    unsigned long ss_size;
} stack_t;

typedef union sigval {
    int sival_int;
    void* sival_ptr;
} sigval_t;

/* 128 bytes: three ints, then the union at offset 16 (8-byte aligned). */
#define SI_MAX_SIZE 128
union __sifields {
    struct {
        int _pid;
        unsigned int _uid;
    } _kill;
    struct {
        int _tid;
        int _overrun;
        sigval_t _sigval;
        int _sys_private;
    } _timer;
    struct {
        int _pid;
        unsigned int _uid;
        sigval_t _sigval;
    } _rt;
    struct {
        int _pid;
        unsigned int _uid;
        int _status;
        long _utime;
        long _stime;
    } _sigchld;
    struct {
        void* _addr;
        union {
            int _trapno;
            short _addr_lsb;
            struct {
                char _dummy_bnd[8];
                void* _lower;
                void* _upper;
            } _addr_bnd;
            struct {
                char _dummy_pkey[8];
                __u32 _pkey;
            } _addr_pkey;
        };
    } _sigfault;
    struct {
        long _band;
        int _fd;
    } _sigpoll;
    struct {
        void* _call_addr;
        int _syscall;
        unsigned int _arch;
    } _sigsys;
};

typedef struct siginfo {
    union {
        struct {
            int si_signo;
            int si_errno;
            int si_code;
            union __sifields _sifields;
        };
        int _si_pad[SI_MAX_SIZE / sizeof(int)];
    };
} siginfo_t;

#define SIGEV_MAX_SIZE 64
typedef struct sigevent {
    sigval_t sigev_value;
    int sigev_signo;
    int sigev_notify;
    union {
        int _pad[(SIGEV_MAX_SIZE - 16) / sizeof(int)];
        int _tid;
        struct {
            void (*_function)(sigval_t);
            void* _attribute;
        } _sigev_thread;
    } _sigev_un;
} sigevent_t;

/* The registers a signal frame saves (x86-64 asm/sigcontext.h); fpstate
 * points at the XSAVE/FXSAVE image on the user stack, or is 0. */
struct sigcontext {
    __u64 r8;
    __u64 r9;
    __u64 r10;
    __u64 r11;
    __u64 r12;
    __u64 r13;
    __u64 r14;
    __u64 r15;
    __u64 rdi;
    __u64 rsi;
    __u64 rbp;
    __u64 rbx;
    __u64 rdx;
    __u64 rax;
    __u64 rcx;
    __u64 rsp;
    __u64 rip;
    __u64 eflags;
    __u16 cs;
    __u16 gs;
    __u16 fs;
    union {
        __u16 ss;
        __u16 __pad0;
    };
    __u64 err;
    __u64 trapno;
    __u64 oldmask;
    __u64 cr2;
    __u64 fpstate;
    __u64 reserved1[8];
};

/* What rt_sigreturn reads back (asm-generic/ucontext.h). */
struct ucontext {
    unsigned long uc_flags;
    struct ucontext* uc_link;
    stack_t uc_stack;
    struct sigcontext uc_mcontext;
    sigset_t uc_sigmask;
};

SLUICE_UAPI_END

#endif
