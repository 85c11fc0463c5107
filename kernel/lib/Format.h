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

// The same output, of any length, handed to `flush` in pieces (at most 128
// bytes each, in order); returns the total length.
using FormatFlush = void (*)(void* context, const char* text, usize length);
usize format_stream_v(FormatFlush flush, void* context, const char* fmt, va_list args);
usize format_stream(FormatFlush flush, void* context, const char* fmt, ...)
    __attribute__((format(printf, 3, 4)));
