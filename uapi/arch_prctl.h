/* arch_prctl(2) codes (x86 asm/prctl.h). */
#ifndef SLUICE_UAPI_ARCH_PRCTL_H
#define SLUICE_UAPI_ARCH_PRCTL_H
#pragma GCC system_header

#define ARCH_SET_GS 0x1001
#define ARCH_SET_FS 0x1002
#define ARCH_GET_FS 0x1003
#define ARCH_GET_GS 0x1004
#define ARCH_GET_CPUID 0x1011
#define ARCH_SET_CPUID 0x1012

#endif
