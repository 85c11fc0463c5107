#include "kernel/debug/Symbols.h"

#include "kernel/lib/String.h"

namespace symbols {
namespace {

const char* g_text = nullptr;
usize g_length = 0;

int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool ends_with(const char* name, usize length, const char* suffix, usize suffix_length)
{
    return length >= suffix_length && memcmp(name + length - suffix_length, suffix, suffix_length) == 0;
}

// Labels from the linker script (__text_start, __init_array_end, ...) share
// their address with a real function; a backtrace should name the function.
bool is_linker_label(const char* name, usize length)
{
    return length > 2 && name[0] == '_' && name[1] == '_' &&
           (ends_with(name, length, "_start", 6) || ends_with(name, length, "_end", 4));
}

} // namespace

void init(const char* text, usize length)
{
    g_text = text;
    g_length = length;
}

bool available() { return g_text != nullptr; }

bool lookup(u64 address, Symbol& out)
{
    if (!g_text)
        return false;
    // Lines: "<16 hex digits> <type letter> <name>\n", sorted by address.
    bool found = false;
    usize i = 0;
    while (i < g_length) {
        usize line_start = i;
        while (i < g_length && g_text[i] != '\n')
            i++;
        usize line_end = i++;
        u64 value = 0;
        usize p = line_start;
        for (; p < line_end && hex_value(g_text[p]) >= 0; p++)
            value = value << 4 | static_cast<u64>(hex_value(g_text[p]));
        if (p + 3 > line_end || g_text[p] != ' ')
            continue;
        char type = g_text[p + 1];
        if (type != 't' && type != 'T' && type != 'W' && type != 'w')
            continue;
        if (value > address)
            break;
        if (is_linker_label(g_text + p + 3, line_end - (p + 3)))
            continue;
        out.name = g_text + p + 3;
        out.name_length = line_end - (p + 3);
        out.offset = address - value;
        found = true;
    }
    return found;
}

} // namespace symbols
