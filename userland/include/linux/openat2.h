/* linux/openat2.h for user programs built with the SDK: Sluice's own uapi/openat2.h. */
#include "../../../uapi/openat2.h"
