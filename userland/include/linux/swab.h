/* linux/swab.h for user programs built with the SDK: Sluice's own uapi/swab.h. */
#include "../../../uapi/swab.h"
