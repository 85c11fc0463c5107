/* Debian's liburing-dev header, reached from the SDK's include directory
 * (the rest of /usr/include is glibc's and stays out of sight). */
#include "/usr/include/liburing/compat.h"
