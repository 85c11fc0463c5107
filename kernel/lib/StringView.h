// A non-owning view of characters: pointer + length, not NUL-terminated.
#pragma once

#include "kernel/lib/String.h"
#include "kernel/lib/Types.h"

class StringView {
public:
    constexpr StringView() = default;
    constexpr StringView(const char* chars, usize length) : m_chars(chars), m_length(length) { }
    StringView(const char* c_string) : m_chars(c_string), m_length(c_string ? strlen(c_string) : 0) { }

    constexpr const char* chars() const { return m_chars; }
    constexpr usize length() const { return m_length; }
    constexpr bool is_empty() const { return m_length == 0; }
    constexpr char operator[](usize i) const { return m_chars[i]; }

    bool operator==(StringView other) const
    {
        return m_length == other.m_length && (m_length == 0 || memcmp(m_chars, other.m_chars, m_length) == 0);
    }

    bool starts_with(StringView prefix) const
    {
        return prefix.m_length <= m_length && memcmp(m_chars, prefix.m_chars, prefix.m_length) == 0;
    }

    StringView substring(usize start, usize length) const
    {
        if (start > m_length)
            return {};
        return StringView(m_chars + start, min(length, m_length - start));
    }

    StringView substring(usize start) const { return substring(start, m_length); }

    // Index of the first `c`, or -1.
    isize find(char c) const
    {
        for (usize i = 0; i < m_length; i++) {
            if (m_chars[i] == c)
                return static_cast<isize>(i);
        }
        return -1;
    }

    // Parse a decimal (or 0x-prefixed hex) unsigned number, with an optional
    // K/M/G suffix (powers of 1024). Returns false on anything else.
    bool to_u64(u64& out) const;

private:
    const char* m_chars = nullptr;
    usize m_length = 0;
};
