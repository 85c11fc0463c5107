// printf-style formatting into a caller's buffer (the kernel has no stdio).
//
// Supports %d %i %u %x %X %o %p %s %c %%, flags '-' '0' '+' ' ' '#', a width, a
// precision for strings and integers, and the length modifiers hh h l ll z t j.
// Returns the length the full output would have (like vsnprintf); the buffer
// always ends in a NUL when size > 0.
#pragma once

#include <stdarg.h>

#include "kernel/lib/Types.h"

usize format_string_v(char* buffer, usize size, const char* fmt, va_list args);
usize format_string(char* buffer, usize size, const char* fmt, ...)
    __attribute__((format(printf, 3, 4)));
