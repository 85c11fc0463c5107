#include "fs/vfs/PathWalk.h"

#include "kernel/lib/String.h"

namespace vfs {

Result<void> PathScanner::start(StringView path)
{
    if (path.length() >= MAX_PATH_LENGTH)
        return Error::from_errno(ENAMETOOLONG);
    m_position = MAX_PATH_LENGTH - path.length();
    memcpy(m_buffer.data + m_position, path.chars(), path.length());
    return {};
}

PathScanner::Component PathScanner::next()
{
    const char* data = m_buffer.data;
    while (m_position < MAX_PATH_LENGTH && data[m_position] == '/')
        m_position++;
    const usize begin = m_position;
    while (m_position < MAX_PATH_LENGTH && data[m_position] != '/')
        m_position++;
    Component component;
    component.name = StringView(data + begin, m_position - begin);
    const usize end_of_name = m_position;
    while (m_position < MAX_PATH_LENGTH && data[m_position] == '/')
        m_position++;
    component.is_last = m_position == MAX_PATH_LENGTH;
    component.trailing_slash = component.is_last && m_position > end_of_name;
    return component;
}

// The body goes in front of the rest, with a '/' between them when there is a
// rest (or a trailing slash to keep). It is first written at the start of the
// buffer: everything before m_position has been walked already.
usize PathScanner::link_capacity(bool keep_trailing_slash) const
{
    const bool separator = m_position < MAX_PATH_LENGTH || keep_trailing_slash;
    // Keep one byte for the NUL that MAX_PATH_LENGTH counts.
    const usize used = (MAX_PATH_LENGTH - m_position) + (separator ? 1 : 0) + 1;
    return used >= MAX_PATH_LENGTH ? 0 : MAX_PATH_LENGTH - used;
}

void PathScanner::push_link(usize length, bool keep_trailing_slash)
{
    const bool separator = m_position < MAX_PATH_LENGTH || keep_trailing_slash;
    if (separator)
        m_buffer.data[--m_position] = '/';
    m_position -= length;
    memmove(m_buffer.data + m_position, m_buffer.data, length);
}

} // namespace vfs
