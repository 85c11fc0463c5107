// The libc side of the uapi ABI comparison: the host's glibc headers, for
// the facts the kernel does not export as headers.
#include "LibcHeaders.h"

#include "Abi.h"

#define PICK(sluice, other) other
#define STRUCT_TYPE(sluice, other) other
#define CONSTANTS "LibcConstants.def"
#define STRUCTS "LibcStructs.def"
#define FACTS_FUNCTION libc_facts
#include "Facts.inc"
