// A set of logical CPUs (indices as in PerCpu::index), one bit each.
#pragma once

#include "kernel/lib/Types.h"

class CpuMask {
public:
    static constexpr u32 CAPACITY = 64;

    constexpr CpuMask() = default;
    static constexpr CpuMask none() { return CpuMask(); }
    static constexpr CpuMask only(u32 cpu) { return CpuMask(1ul << cpu); }
    // CPUs 0..count-1.
    static constexpr CpuMask first(u32 count) { return CpuMask(count >= CAPACITY ? ~0ul : (1ul << count) - 1); }

    constexpr bool has(u32 cpu) const { return cpu < CAPACITY && ((m_bits >> cpu) & 1); }
    constexpr void add(u32 cpu) { m_bits |= 1ul << cpu; }
    constexpr void remove(u32 cpu) { m_bits &= ~(1ul << cpu); }
    constexpr bool is_empty() const { return m_bits == 0; }
    constexpr u32 count() const { return static_cast<u32>(__builtin_popcountl(m_bits)); }
    constexpr u64 bits() const { return m_bits; }
    constexpr CpuMask operator&(CpuMask other) const { return CpuMask(m_bits & other.m_bits); }
    constexpr CpuMask operator|(CpuMask other) const { return CpuMask(m_bits | other.m_bits); }
    constexpr bool operator==(const CpuMask&) const = default;

    // for (u32 cpu : mask)
    class Iterator {
    public:
        constexpr explicit Iterator(u64 bits) : m_rest(bits) { }
        constexpr u32 operator*() const { return static_cast<u32>(__builtin_ctzl(m_rest)); }
        constexpr Iterator& operator++()
        {
            m_rest &= m_rest - 1;
            return *this;
        }
        constexpr bool operator!=(const Iterator& other) const { return m_rest != other.m_rest; }

    private:
        u64 m_rest;
    };
    constexpr Iterator begin() const { return Iterator(m_bits); }
    constexpr Iterator end() const { return Iterator(0); }

private:
    constexpr explicit CpuMask(u64 bits) : m_bits(bits) { }
    u64 m_bits = 0;
};
