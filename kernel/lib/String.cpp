#include "kernel/lib/String.h"

// Built with -fno-builtin-style care: these must not call themselves, so they
// use the string instructions directly.
extern "C" {

void* memcpy(void* dest, const void* src, usize n)
{
    void* d = dest;
    asm volatile("rep movsb" : "+D"(d), "+S"(src), "+c"(n) : : "memory");
    return dest;
}

void* memmove(void* dest, const void* src, usize n)
{
    auto* d = static_cast<u8*>(dest);
    auto* s = static_cast<const u8*>(src);
    if (d == s || n == 0)
        return dest;
    if (d < s || d >= s + n)
        return memcpy(dest, src, n);
    // Overlapping with dest above src: copy backwards.
    const u8* s_end = s + n - 1;
    u8* d_end = d + n - 1;
    asm volatile("std; rep movsb; cld" : "+D"(d_end), "+S"(s_end), "+c"(n) : : "memory");
    return dest;
}

void* memset(void* dest, int c, usize n)
{
    void* d = dest;
    asm volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
    return dest;
}

int memcmp(const void* a, const void* b, usize n)
{
    auto* x = static_cast<const u8*>(a);
    auto* y = static_cast<const u8*>(b);
    for (usize i = 0; i < n; i++) {
        if (x[i] != y[i])
            return x[i] < y[i] ? -1 : 1;
    }
    return 0;
}

usize strlen(const char* s)
{
    usize n = 0;
    while (s[n])
        n++;
    return n;
}

int strcmp(const char* a, const char* b)
{
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return static_cast<u8>(*a) - static_cast<u8>(*b);
}

int strncmp(const char* a, const char* b, usize n)
{
    for (usize i = 0; i < n; i++) {
        if (a[i] != b[i] || !a[i])
            return static_cast<u8>(a[i]) - static_cast<u8>(b[i]);
    }
    return 0;
}

} // extern "C"
