/* uname(2) (linux/utsname.h: struct new_utsname, the one x86-64 uses). */
#ifndef SLUICE_UAPI_UTSNAME_H
#define SLUICE_UAPI_UTSNAME_H
#pragma GCC system_header

#include "types.h"

#define __NEW_UTS_LEN 64

SLUICE_UAPI_BEGIN

struct new_utsname {
    char sysname[__NEW_UTS_LEN + 1];
    char nodename[__NEW_UTS_LEN + 1];
    char release[__NEW_UTS_LEN + 1];
    char version[__NEW_UTS_LEN + 1];
    char machine[__NEW_UTS_LEN + 1];
    char domainname[__NEW_UTS_LEN + 1];
};

SLUICE_UAPI_END

#endif
