/* linux/types.h for user programs built with the SDK: Sluice's own uapi/types.h. */
#include "../../../uapi/types.h"
