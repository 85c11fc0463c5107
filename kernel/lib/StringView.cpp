#include "kernel/lib/StringView.h"

bool StringView::to_u64(u64& out) const
{
    if (m_length == 0)
        return false;
    usize i = 0;
    unsigned base = 10;
    if (m_length > 2 && m_chars[0] == '0' && (m_chars[1] == 'x' || m_chars[1] == 'X')) {
        base = 16;
        i = 2;
    }
    u64 value = 0;
    bool any_digit = false;
    for (; i < m_length; i++) {
        char c = m_chars[i];
        unsigned digit;
        if (c >= '0' && c <= '9')
            digit = c - '0';
        else if (base == 16 && c >= 'a' && c <= 'f')
            digit = c - 'a' + 10;
        else if (base == 16 && c >= 'A' && c <= 'F')
            digit = c - 'A' + 10;
        else
            break;
        if (value > (~0ull - digit) / base)
            return false;
        value = value * base + digit;
        any_digit = true;
    }
    if (!any_digit)
        return false;
    if (i < m_length) {
        u64 scale;
        switch (m_chars[i]) {
        case 'k':
        case 'K':
            scale = KiB;
            break;
        case 'm':
        case 'M':
            scale = MiB;
            break;
        case 'g':
        case 'G':
            scale = GiB;
            break;
        default:
            return false;
        }
        if (i + 1 != m_length || value > ~0ull / scale)
            return false;
        value *= scale;
    }
    out = value;
    return true;
}
