// Fixed-width integer names used everywhere in the kernel. Only the compiler's
// freestanding headers are included, so this also builds in host tests.
#pragma once

#include <stddef.h>
#include <stdint.h>

using u8 = uint8_t;
using u16 = uint16_t;
using u32 = uint32_t;
using u64 = uint64_t;
using i8 = int8_t;
using i16 = int16_t;
using i32 = int32_t;
using i64 = int64_t;
using usize = size_t;
using isize = ptrdiff_t;
using uptr = uintptr_t;
using PhysAddr = u64;

constexpr usize KiB = 1024;
constexpr usize MiB = 1024 * KiB;
constexpr usize GiB = 1024 * MiB;
constexpr usize PAGE_SIZE = 4096;
constexpr usize PAGE_SHIFT = 12;

template <typename T>
constexpr T align_up(T value, T alignment)
{
    return (value + alignment - 1) & ~(alignment - 1);
}

template <typename T>
constexpr T align_down(T value, T alignment)
{
    return value & ~(alignment - 1);
}

template <typename T>
constexpr bool is_aligned(T value, T alignment)
{
    return (value & (alignment - 1)) == 0;
}

template <typename T>
constexpr T min(T a, T b)
{
    return a < b ? a : b;
}

template <typename T>
constexpr T max(T a, T b)
{
    return a > b ? a : b;
}

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
