/* Fixed-width types of the Linux user ABI (asm-generic/int-ll64.h,
 * linux/types.h), spelled as Linux spells them so that a C program may include
 * both these headers and a libc's.
 *
 * Structs in uapi/ live in namespace uapi when compiled as C++ (the kernel,
 * host tests), so that a host test can hold Sluice's and Linux's definitions
 * of `struct stat` side by side; C (user programs) sees them at file scope. */
#ifndef SLUICE_UAPI_TYPES_H
#define SLUICE_UAPI_TYPES_H
#pragma GCC system_header

#ifdef __cplusplus
#define SLUICE_UAPI_BEGIN namespace uapi {
#define SLUICE_UAPI_END }
#else
#define SLUICE_UAPI_BEGIN
#define SLUICE_UAPI_END
#endif

typedef signed char __s8;
typedef unsigned char __u8;
typedef signed short __s16;
typedef unsigned short __u16;
typedef signed int __s32;
typedef unsigned int __u32;
typedef signed long long __s64;
typedef unsigned long long __u64;

/* Little-endian on the wire; x86-64 only, so plain integers. */
typedef __u16 __le16;
typedef __u32 __le32;
typedef __u64 __le64;
typedef __u16 __be16;
typedef __u32 __be32;
typedef __u64 __be64;

/* 64-bit fields stay 8-byte aligned even where an ABI would pack them. */
typedef __u64 __attribute__((aligned(8))) __aligned_u64;

typedef unsigned __poll_t;

#endif
