/* linux/time_types.h for user programs built with the SDK: Sluice's own uapi/time_types.h. */
#include "../../../uapi/time_types.h"
