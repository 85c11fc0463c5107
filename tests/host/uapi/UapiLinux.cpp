// Linux's side of the uapi ABI comparison: the host's kernel UAPI headers.
#include "LinuxHeaders.h"

#include "Abi.h"

#define PICK(sluice, other) other
#define STRUCT_TYPE(sluice, other) other
#define CONSTANTS "LinuxConstants.def"
#define STRUCTS "LinuxStructs.def"
#define FACTS_FUNCTION linux_facts
#include "Facts.inc"
