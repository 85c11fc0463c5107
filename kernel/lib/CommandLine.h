// The kernel command line: space-separated `key=value` options and bare flags.
// Like Linux, each word is one option; quoting with "..." keeps spaces inside
// a value (init="/bin/x --qd 32").
#pragma once

#include "kernel/lib/StringView.h"

class CommandLine {
public:
    static constexpr usize MAX_LENGTH = 1024;
    static constexpr usize MAX_OPTIONS = 64;

    void parse(StringView text);

    StringView raw() const { return StringView(m_text, m_length); }
    usize option_count() const { return m_count; }

    // A present option; `value` is empty for a bare flag.
    bool has(StringView key) const;
    // The value of key, or `fallback` when absent.
    StringView get(StringView key, StringView fallback = {}) const;
    u64 get_u64(StringView key, u64 fallback) const;

    StringView key_at(usize i) const { return m_options[i].key; }
    StringView value_at(usize i) const { return m_options[i].value; }

private:
    struct Option {
        StringView key;
        StringView value;
    };
    const Option* find(StringView key) const;

    char m_text[MAX_LENGTH] = {};
    usize m_length = 0;
    Option m_options[MAX_OPTIONS];
    usize m_count = 0;
};
