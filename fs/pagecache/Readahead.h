// The per-file readahead window: decides how many pages a read should bring in
// beyond what it asked for. Pure decisions, no I/O: the page cache asks, then
// builds bios for the pages of the answer that are not cached yet, and puts the
// readahead mark (a page flag) on the trigger page.
//
// The window pipeline (the scheme Linux's mm/readahead.c made standard):
//
//   reader at page 0, 1-page reads, max 32 pages
//   miss at 0      -> read [0, 4)   trigger page 1   (initial window: small)
//   marked hit 1   -> read [4, 12)  trigger page 4   (next window: doubled)
//   marked hit 4   -> read [12, 28) trigger page 12
//   marked hit 12  -> read [28, 60) trigger page 28  (capped at max from now on)
//
// A miss is "sequential" when it continues the previous access (same page or
// the next one) or lands on the page right after the current window; then the
// window starts (or restarts) small. Any other miss is random: only the
// requested pages are read and the window is dropped, so random readers do not
// inflate device traffic. A hit on a marked page means the reader caught up
// with the asynchronous part of the window: the next window, twice as large, is
// issued before the reader needs it, and its first page is the next trigger.
//
// State lives in the open file (like Linux's file_ra_state); concurrent readers
// of one file serialise on the file's lock or accept a racy but harmless window.
#pragma once

#include "kernel/lib/Types.h"

namespace pagecache {

struct ReadaheadRequest {
    static constexpr u64 NO_TRIGGER = ~0ul;

    u64 start = 0; // first page index to read
    u64 count = 0; // pages to read (0: nothing)
    u64 trigger = NO_TRIGGER; // page to mark for the next asynchronous readahead
};

class ReadaheadState {
public:
    static constexpr u64 DEFAULT_MAX_BYTES = 128 * KiB; // Linux's VM_READAHEAD_PAGES
    static constexpr u64 DEFAULT_MAX_PAGES = DEFAULT_MAX_BYTES / PAGE_SIZE;
    static constexpr u64 MIN_WINDOW_PAGES = 4;

    ReadaheadState()
        : m_max_pages(s_default_max_pages)
    {
    }
    explicit ReadaheadState(u64 max_pages)
        : m_max_pages(max_pages)
    {
    }

    // The window new files start with: `readahead_kb=` on the kernel command
    // line (like Linux's per-device read_ahead_kb, but one value for all).
    static void set_default_max_pages(u64 max_pages) { s_default_max_pages = max(max_pages, MIN_WINDOW_PAGES); }
    static u64 default_max_pages() { return s_default_max_pages; }

    // The reader needs pages [index, index + request_pages) and `index` is not
    // cached. `file_pages`: pages up to end of file (nothing is read past it).
    ReadaheadRequest on_miss(u64 index, u64 request_pages, u64 file_pages);
    // The reader found page `index` cached and carrying the readahead mark
    // (the caller clears the mark).
    ReadaheadRequest on_marked_hit(u64 index, u64 request_pages, u64 file_pages);
    // After each read: the last page the reader touched.
    void note_access(u64 last_index)
    {
        m_prev_index = last_index;
        m_has_prev = true;
    }

    // Tunable per device/file (0 disables readahead: only requested pages are read).
    void set_max_pages(u64 max_pages) { m_max_pages = max_pages; }
    u64 max_pages() const { return m_max_pages; }

    u64 window_start() const { return m_start; }
    u64 window_pages() const { return m_size; }
    u64 async_pages() const { return m_async_size; }

private:
    u64 initial_window(u64 request_pages) const;
    u64 next_window(u64 current_pages) const;
    u64 async_part(u64 request_pages) const;
    bool is_sequential(u64 index) const;
    ReadaheadRequest issue(u64 file_pages) const;
    ReadaheadRequest read_only_request(u64 index, u64 request_pages, u64 file_pages);

    u64 m_max_pages;
    static inline u64 s_default_max_pages = DEFAULT_MAX_PAGES;
    // The current window [m_start, m_start + m_size); its last m_async_size
    // pages are the asynchronous part, whose first page is the trigger.
    u64 m_start = 0;
    u64 m_size = 0;
    u64 m_async_size = 0;
    u64 m_prev_index = 0;
    bool m_has_prev = false;
};

} // namespace pagecache
