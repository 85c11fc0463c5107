/* linux/fs.h for user programs built with the SDK: the part of Linux's
 * header that liburing uses (rwf flags). Block and filesystem ioctl numbers
 * come from the libc's <sys/mount.h> and <sys/ioctl.h>, or Sluice's
 * uapi/ioctl.h. */
#include "../../../uapi/rwf.h"
