// Sluice's side of the uapi ABI comparison: every header in uapi/, and
// nothing from the host.
#include "uapi/arch_prctl.h"
#include "uapi/auxvec.h"
#include "uapi/dirent.h"
#include "uapi/epoll.h"
#include "uapi/errno.h"
#include "uapi/eventfd.h"
#include "uapi/fcntl.h"
#include "uapi/futex.h"
#include "uapi/io_uring.h"
#include "uapi/ioctl.h"
#include "uapi/mman.h"
#include "uapi/mount.h"
#include "uapi/openat2.h"
#include "uapi/poll.h"
#include "uapi/random.h"
#include "uapi/reboot.h"
#include "uapi/resource.h"
#include "uapi/rwf.h"
#include "uapi/sched.h"
#include "uapi/signal.h"
#include "uapi/stat.h"
#include "uapi/swab.h"
#include "uapi/termios.h"
#include "uapi/time.h"
#include "uapi/time_types.h"
#include "uapi/timerfd.h"
#include "uapi/utsname.h"
#include "uapi/wait.h"

#include "Abi.h"

#define PICK(sluice, other) sluice
#define STRUCT_TYPE(sluice, other) uapi::sluice

namespace against_linux {
#define CONSTANTS "LinuxConstants.def"
#define STRUCTS "LinuxStructs.def"
#define FACTS_FUNCTION facts
#include "Facts.inc"
#undef CONSTANTS
#undef STRUCTS
#undef FACTS_FUNCTION
}  // namespace against_linux

namespace against_libc {
#define CONSTANTS "LibcConstants.def"
#define STRUCTS "LibcStructs.def"
#define FACTS_FUNCTION facts
#include "Facts.inc"
}  // namespace against_libc

AbiFacts sluice_linux_facts() { return against_linux::facts(); }
AbiFacts sluice_libc_facts() { return against_libc::facts(); }
