// C string and memory primitives. The compiler may emit calls to memcpy/memset
// itself, so the kernel provides them with C linkage (kernel/lib/String.cpp);
// host tests use the C library's.
#pragma once

#include "kernel/lib/Types.h"

#if __STDC_HOSTED__
#include <string.h>
#else
extern "C" {
void* memcpy(void* dest, const void* src, usize n);
void* memmove(void* dest, const void* src, usize n);
void* memset(void* dest, int c, usize n);
int memcmp(const void* a, const void* b, usize n);
usize strlen(const char* s);
int strcmp(const char* a, const char* b);
int strncmp(const char* a, const char* b, usize n);
}
#endif
