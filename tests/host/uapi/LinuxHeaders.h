/* The host's Linux UAPI headers (linux-libc-dev) that Sluice's uapi/ mirrors.
 * Only kernel headers here: a libc's headers would clash with them. */
#include <asm/auxvec.h>
#include <asm/errno.h>
#include <asm/ioctls.h>
#include <asm/prctl.h>
#include <asm/sigcontext.h>
#include <asm/signal.h>
#include <asm/stat.h>
#include <asm/termbits.h>
#include <linux/auxvec.h>
#include <linux/eventpoll.h>
#include <linux/fadvise.h>
#include <linux/falloc.h>
#include <linux/fcntl.h>
#include <linux/fs.h>
#include <linux/futex.h>
#include <linux/io_uring.h>
#include <linux/mman.h>
#include <linux/openat2.h>
#include <linux/poll.h>
#include <linux/random.h>
#include <linux/reboot.h>
#include <linux/resource.h>
#include <linux/sched.h>
#include <linux/signal.h>
#include <linux/stat.h>
#include <linux/termios.h>
#include <linux/time.h>
#include <linux/time_types.h>
#include <linux/timerfd.h>
#include <linux/utsname.h>
#include <linux/wait.h>
/* after asm/signal.h and asm/sigcontext.h, whose types it uses */
#include <asm/ucontext.h>
#include <asm-generic/ucontext.h>
