#include "kernel/lib/CommandLine.h"

void CommandLine::parse(StringView text)
{
    m_length = min(text.length(), MAX_LENGTH - 1);
    memcpy(m_text, text.chars(), m_length);
    m_text[m_length] = '\0';
    m_count = 0;

    usize i = 0;
    while (i < m_length && m_count < MAX_OPTIONS) {
        while (i < m_length && m_text[i] == ' ')
            i++;
        if (i >= m_length)
            break;
        usize key_start = i;
        while (i < m_length && m_text[i] != ' ' && m_text[i] != '=')
            i++;
        Option option;
        option.key = StringView(m_text + key_start, i - key_start);
        if (i < m_length && m_text[i] == '=') {
            i++;
            if (i < m_length && m_text[i] == '"') {
                usize value_start = ++i;
                while (i < m_length && m_text[i] != '"')
                    i++;
                option.value = StringView(m_text + value_start, i - value_start);
                if (i < m_length)
                    i++;
            } else {
                usize value_start = i;
                while (i < m_length && m_text[i] != ' ')
                    i++;
                option.value = StringView(m_text + value_start, i - value_start);
            }
        }
        m_options[m_count++] = option;
    }
}

const CommandLine::Option* CommandLine::find(StringView key) const
{
    // The last occurrence wins, as with Linux's early params.
    for (usize i = m_count; i-- > 0;) {
        if (m_options[i].key == key)
            return &m_options[i];
    }
    return nullptr;
}

bool CommandLine::has(StringView key) const { return find(key) != nullptr; }

StringView CommandLine::get(StringView key, StringView fallback) const
{
    const Option* option = find(key);
    return option ? option->value : fallback;
}

u64 CommandLine::get_u64(StringView key, u64 fallback) const
{
    const Option* option = find(key);
    u64 value;
    if (!option || !option->value.to_u64(value))
        return fallback;
    return value;
}
