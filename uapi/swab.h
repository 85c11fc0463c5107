/* Byte swaps (linux/swab.h's names), for headers such as liburing's that
 * include it. */
#ifndef SLUICE_UAPI_SWAB_H
#define SLUICE_UAPI_SWAB_H
#pragma GCC system_header

#include "types.h"

static inline __u16 __swab16(__u16 x) { return __builtin_bswap16(x); }
static inline __u32 __swab32(__u32 x) { return __builtin_bswap32(x); }
static inline __u64 __swab64(__u64 x) { return __builtin_bswap64(x); }

#endif
