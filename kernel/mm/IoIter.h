// IoIter: the memory one read or write moves data to or from, as Linux's
// iov_iter. The file layers (vfs, the page cache, direct I/O) take one of
// these instead of a raw pointer, so the same code serves a kernel buffer, a
// user buffer, a user iovec array (readv/writev) and pinned pages (io_uring
// registered buffers, direct I/O straight into user pages).
//
// Kinds:
//   Kernel      one kernel-virtual segment (direct map or kernel image)
//   User        one user segment: every access goes through the user-copy
//               functions (arch/x86_64/mm/UserCopy.h), never a dereference
//   UserVector  an array of user segments (the iovec array itself already
//               copied into kernel memory by the caller, its total checked)
//   Pages       an array of (Page*, offset, length) pieces: the caller holds
//               a reference on every page for the life of the iterator
//
// The iterator is a cursor: copy_to / copy_from / zero move data at the
// cursor and advance it by what they moved; count() is what is left. A copy
// into or out of user memory that faults part-way stops there and returns
// the bytes moved so far (the caller returns that short count, or EFAULT
// when it is 0, as Linux's read/write do). Kernel and Pages copies never
// fall short.
//
// Segment arrays are borrowed, not copied: they must outlive the iterator.
// Not thread-safe: one iterator belongs to one I/O.
#pragma once

#include "kernel/lib/Types.h"
#include "kernel/mm/Page.h"

namespace mm {

// One contiguous piece of memory (Linux's struct iovec / struct kvec).
struct IoSegment {
    void* base;
    usize length;
};

// One piece of one page (Linux's bio_vec).
struct PageSegment {
    Page* page;
    u32 offset; // < PAGE_SIZE
    u32 length; // offset + length <= PAGE_SIZE
};

class IoIter {
public:
    enum class Kind : u8 { Kernel, User, UserVector, Pages };

    static IoIter kernel(void* buffer, usize length) { return IoIter(Kind::Kernel, buffer, length); }
    // A source-only kernel buffer: copy_to on it is a bug (the const is
    // dropped only so that one type serves both directions).
    static IoIter kernel(const void* buffer, usize length) { return kernel(const_cast<void*>(buffer), length); }
    static IoIter user(void* user_buffer, usize length) { return IoIter(Kind::User, user_buffer, length); }
    static IoIter user(const void* user_buffer, usize length) { return user(const_cast<void*>(user_buffer), length); }
    // `total` must be the sum of the segments' lengths (the caller checked it
    // against overflow and MAX_RW_COUNT while importing the iovec array).
    static IoIter user_vector(const IoSegment* segments, usize segment_count, usize total);
    static IoIter pages(const PageSegment* segments, usize segment_count, usize total);

    Kind kind() const { return m_kind; }
    bool is_user() const { return m_kind == Kind::User || m_kind == Kind::UserVector; }
    // Bytes left from the cursor on.
    usize count() const { return m_count; }

    // Move the cursor forward by `n` bytes (n <= count()).
    void advance(usize n);
    // Move the cursor back by `n` bytes it went forward (a write that
    // committed less than it copied).
    void revert(usize n);
    // Stop the iterator `n` bytes from the cursor (count() becomes at most n);
    // a later expand(n') gives bytes back up to the original end.
    void truncate(usize n);
    void expand(usize n);

    // Copy `n` bytes from kernel memory `source` to the cursor (a read
    // filling the caller's buffer). Returns the bytes copied.
    usize copy_to(const void* source, usize n);
    // Copy `n` bytes from the cursor to kernel memory `destination` (a write
    // taking the caller's data). Returns the bytes copied.
    usize copy_from(void* destination, usize n);
    // Write `n` zero bytes at the cursor (holes, past the end of a block).
    usize zero(usize n);

    // OR of the addresses and lengths of every remaining segment piece (the
    // O_DIRECT alignment rule: aligned(mask) when all of them are multiples).
    uptr alignment() const;

    // For building bios from Kernel and Pages iterators (not user ones: their
    // pages must be pinned first): the page piece at the cursor, at most `max`
    // bytes and never crossing a page boundary. Does not advance. Returns its
    // length (0 when count() is 0).
    u32 current_page_piece(usize max, Page*& page, u32& offset) const;

private:
    IoIter(Kind kind, void* base, usize length)
        : m_kind(kind)
        , m_single{ base, length }
        , m_count(length)
        , m_limit_slack(0)
    {
    }
    IoIter() = default;

    // The segment `index` as (address, length); Pages give kernel addresses.
    uptr segment_address(usize index) const;
    usize segment_length(usize index) const;
    usize segment_count() const;

    // Runs `step(address, length)` over the pieces of the next `n` bytes
    // (user pieces never cross a user page: a fault then means the whole
    // piece failed); `step` returns the bytes it moved, a short return stops
    // the walk. Advances by the bytes moved and returns them.
    template <typename Step>
    usize walk(usize n, Step step);

    Kind m_kind = Kind::Kernel;
    IoSegment m_single{ nullptr, 0 }; // Kernel and User
    const IoSegment* m_segments = nullptr; // UserVector
    const PageSegment* m_pages = nullptr; // Pages
    usize m_segment_total = 0; // UserVector / Pages: entries in the array
    usize m_index = 0; // current segment
    usize m_offset = 0; // bytes of the current segment already behind the cursor
    usize m_count = 0; // bytes left before the (possibly truncated) end
    usize m_limit_slack = 0; // bytes cut off the end by truncate()
};

} // namespace mm
