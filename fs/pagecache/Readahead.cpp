#include "fs/pagecache/Readahead.h"

namespace pagecache {

static u64 round_up_power_of_two(u64 value)
{
    if (value <= 1)
        return 1;
    return 1ul << (64 - __builtin_clzl(value - 1));
}

// Small requests start with a few times their size (a 1-page reader gets 4
// pages), requests above a quarter of the maximum with the maximum.
u64 ReadaheadState::initial_window(u64 request_pages) const
{
    u64 size = round_up_power_of_two(request_pages);
    if (size <= m_max_pages / 32)
        size *= 4;
    else if (size <= m_max_pages / 4)
        size *= 2;
    else
        size = m_max_pages;
    size = max(size, MIN_WINDOW_PAGES);
    return min(size, m_max_pages);
}

u64 ReadaheadState::next_window(u64 current_pages) const
{
    return min(max(current_pages * 2, MIN_WINDOW_PAGES), m_max_pages);
}

// Everything past what the reader asked for is asynchronous. When the request
// fills the whole window, the whole window counts as asynchronous: its first
// page (which the reader is about to consume) is the trigger, so the next
// window is issued as soon as this one arrives.
u64 ReadaheadState::async_part(u64 request_pages) const
{
    return m_size > request_pages ? m_size - request_pages : m_size;
}

bool ReadaheadState::is_sequential(u64 index) const
{
    if (!m_has_prev)
        return index == 0; // the first read of a file from its start
    if (index == m_prev_index || index == m_prev_index + 1)
        return true;
    // The reader went past the window without meeting the trigger (the marked
    // page was reclaimed, or the reads are larger than the async part).
    return m_size > 0 && index == m_start + m_size;
}

ReadaheadRequest ReadaheadState::issue(u64 file_pages) const
{
    ReadaheadRequest request;
    if (m_start >= file_pages || m_size == 0)
        return request;
    request.start = m_start;
    request.count = min(m_size, file_pages - m_start);
    const u64 trigger = m_start + m_size - m_async_size;
    if (m_async_size > 0 && trigger < request.start + request.count)
        request.trigger = trigger;
    return request;
}

ReadaheadRequest ReadaheadState::read_only_request(u64 index, u64 request_pages, u64 file_pages)
{
    m_start = 0;
    m_size = 0;
    m_async_size = 0;
    ReadaheadRequest request;
    if (index >= file_pages)
        return request;
    request.start = index;
    request.count = min(max(request_pages, 1ul), file_pages - index);
    return request;
}

ReadaheadRequest ReadaheadState::on_miss(u64 index, u64 request_pages, u64 file_pages)
{
    request_pages = max(request_pages, 1ul);
    if (m_max_pages == 0 || !is_sequential(index))
        return read_only_request(index, request_pages, file_pages);

    if (m_size > 0 && index == m_start + m_size) {
        // Continue the pipeline from where the window ended.
        m_start = index;
        m_size = max(next_window(m_size), min(request_pages, m_max_pages));
        m_async_size = async_part(request_pages);
    } else {
        // (Re)start small at the missing page.
        m_start = index;
        m_size = max(initial_window(request_pages), min(request_pages, m_max_pages));
        m_async_size = async_part(request_pages);
    }
    return issue(file_pages);
}

ReadaheadRequest ReadaheadState::on_marked_hit(u64 index, u64 request_pages, u64 file_pages)
{
    request_pages = max(request_pages, 1ul);
    if (m_max_pages == 0)
        return {};
    const bool expected = m_size > 0 && m_async_size > 0 && index == m_start + m_size - m_async_size;
    if (expected) {
        // Ramp up: the next window follows the current one and is entirely
        // asynchronous; its first page is the next trigger.
        m_start += m_size;
        m_size = next_window(m_size);
    } else {
        // A mark we did not place in this state (another reader of the file,
        // or the state was reset by a random read): resume the pipeline right
        // after the marked page with an initial-size window.
        m_start = index + 1;
        m_size = initial_window(request_pages);
    }
    m_async_size = m_size;
    return issue(file_pages);
}

} // namespace pagecache
