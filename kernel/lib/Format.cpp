#include "kernel/lib/Format.h"

namespace {

// Into a buffer (truncating, NUL-terminated), or through a buffer that is
// handed to `flush` whenever it fills (nothing is cut).
class Sink {
public:
    Sink(char* buffer, usize size) : m_buffer(buffer), m_size(size) { }
    Sink(char* buffer, usize size, FormatFlush flush, void* context)
        : m_buffer(buffer), m_size(size), m_flush(flush), m_context(context) { }

    void put(char c)
    {
        if (m_flush) {
            m_buffer[m_filled++] = c;
            if (m_filled == m_size) {
                m_flush(m_context, m_buffer, m_filled);
                m_filled = 0;
            }
        } else if (m_length + 1 < m_size) {
            m_buffer[m_length] = c;
        }
        m_length++;
    }

    void repeat(char c, int count)
    {
        for (int i = 0; i < count; i++)
            put(c);
    }

    usize finish()
    {
        if (m_flush) {
            if (m_filled)
                m_flush(m_context, m_buffer, m_filled);
            m_filled = 0;
            return m_length;
        }
        if (m_size > 0)
            m_buffer[m_length < m_size ? m_length : m_size - 1] = '\0';
        return m_length;
    }

private:
    char* m_buffer;
    usize m_size;
    FormatFlush m_flush = nullptr;
    void* m_context = nullptr;
    usize m_length = 0;
    usize m_filled = 0; // flushing mode: bytes waiting in m_buffer
};

struct Spec {
    bool left = false;
    bool zero = false;
    bool plus = false;
    bool space = false;
    bool alternate = false; // '#': 0x for hex, leading 0 for octal
    int width = 0;
    int precision = -1;
};

void emit_padded(Sink& sink, const Spec& spec, const char* text, int length, const char* prefix = "",
                 int min_digits = 0)
{
    int prefix_length = 0;
    while (prefix[prefix_length])
        prefix_length++;
    int zeros = min_digits > length ? min_digits - length : 0;
    int body = prefix_length + zeros + length;
    int pad = spec.width > body ? spec.width - body : 0;

    if (!spec.left && !(spec.zero && spec.precision < 0))
        sink.repeat(' ', pad);
    for (int i = 0; i < prefix_length; i++)
        sink.put(prefix[i]);
    if (!spec.left && spec.zero && spec.precision < 0)
        sink.repeat('0', pad);
    sink.repeat('0', zeros);
    for (int i = 0; i < length; i++)
        sink.put(text[i]);
    if (spec.left)
        sink.repeat(' ', pad);
}

void emit_unsigned(Sink& sink, const Spec& spec, u64 value, unsigned base, bool upper, bool negative,
                   const char* extra_prefix = "")
{
    char digits[24];
    int length = 0;
    const char* alphabet = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    if (value == 0 && spec.precision != 0)
        digits[length++] = '0';
    while (value) {
        digits[length++] = alphabet[value % base];
        value /= base;
    }
    char reversed[24];
    for (int i = 0; i < length; i++)
        reversed[i] = digits[length - 1 - i];

    char prefix[4] = {};
    int p = 0;
    if (negative)
        prefix[p++] = '-';
    else if (spec.plus)
        prefix[p++] = '+';
    else if (spec.space)
        prefix[p++] = ' ';
    for (const char* e = extra_prefix; *e && p < 3; e++)
        prefix[p++] = *e;
    emit_padded(sink, spec, reversed, length, prefix, spec.precision);
}

} // namespace

namespace {

usize format_into(Sink& sink, const char* fmt, va_list args)
{
    for (const char* p = fmt; *p; p++) {
        if (*p != '%') {
            sink.put(*p);
            continue;
        }
        p++;
        Spec spec;
        for (;; p++) {
            if (*p == '-')
                spec.left = true;
            else if (*p == '0')
                spec.zero = true;
            else if (*p == '+')
                spec.plus = true;
            else if (*p == ' ')
                spec.space = true;
            else if (*p == '#')
                spec.alternate = true;
            else
                break;
        }
        if (*p == '*') {
            spec.width = va_arg(args, int);
            if (spec.width < 0) {
                spec.left = true;
                spec.width = -spec.width;
            }
            p++;
        } else {
            while (*p >= '0' && *p <= '9')
                spec.width = spec.width * 10 + (*p++ - '0');
        }
        if (*p == '.') {
            p++;
            spec.precision = 0;
            if (*p == '*') {
                spec.precision = va_arg(args, int);
                p++;
            } else {
                while (*p >= '0' && *p <= '9')
                    spec.precision = spec.precision * 10 + (*p++ - '0');
            }
        }
        int longs = 0; // -2 hh, -1 h, 0 int, 1 long, 2 long long / size_t
        for (;; p++) {
            if (*p == 'l')
                longs++;
            else if (*p == 'h')
                longs--;
            else if (*p == 'z' || *p == 't' || *p == 'j')
                longs = 2;
            else
                break;
        }
        switch (*p) {
        case 'd':
        case 'i': {
            i64 v = longs >= 1 ? va_arg(args, i64) : va_arg(args, int);
            if (longs == -1)
                v = static_cast<i16>(v);
            else if (longs == -2)
                v = static_cast<i8>(v);
            u64 magnitude = v < 0 ? static_cast<u64>(0) - static_cast<u64>(v) : static_cast<u64>(v);
            emit_unsigned(sink, spec, magnitude, 10, false, v < 0);
            break;
        }
        case 'u':
        case 'x':
        case 'X':
        case 'o': {
            u64 v = longs >= 1 ? va_arg(args, u64) : va_arg(args, unsigned);
            if (longs == -1)
                v = static_cast<u16>(v);
            else if (longs == -2)
                v = static_cast<u8>(v);
            unsigned base = *p == 'u' ? 10 : *p == 'o' ? 8 : 16;
            const char* prefix = "";
            if (spec.alternate && v != 0)
                prefix = base == 16 ? (*p == 'X' ? "0X" : "0x") : base == 8 ? "0" : "";
            emit_unsigned(sink, spec, v, base, *p == 'X', false, prefix);
            break;
        }
        case 'p': {
            u64 v = reinterpret_cast<uptr>(va_arg(args, void*));
            emit_unsigned(sink, spec, v, 16, false, false, "0x");
            break;
        }
        case 'c': {
            char c = static_cast<char>(va_arg(args, int));
            emit_padded(sink, spec, &c, 1);
            break;
        }
        case 's': {
            const char* s = va_arg(args, const char*);
            if (!s)
                s = "(null)";
            int length = 0;
            while (s[length] && (spec.precision < 0 || length < spec.precision))
                length++;
            Spec string_spec = spec;
            string_spec.precision = -1;
            string_spec.zero = false;
            emit_padded(sink, string_spec, s, length);
            break;
        }
        case '%':
            sink.put('%');
            break;
        case '\0':
            p--;
            break;
        default:
            sink.put('%');
            sink.put(*p);
            break;
        }
    }
    return sink.finish();
}

} // namespace

usize format_string_v(char* buffer, usize size, const char* fmt, va_list args)
{
    Sink sink(buffer, size);
    return format_into(sink, fmt, args);
}

usize format_stream_v(FormatFlush flush, void* context, const char* fmt, va_list args)
{
    char chunk[128];
    Sink sink(chunk, sizeof(chunk), flush, context);
    return format_into(sink, fmt, args);
}

usize format_stream(FormatFlush flush, void* context, const char* fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    usize n = format_stream_v(flush, context, fmt, args);
    va_end(args);
    return n;
}

usize format_string(char* buffer, usize size, const char* fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    usize n = format_string_v(buffer, size, fmt, args);
    va_end(args);
    return n;
}
