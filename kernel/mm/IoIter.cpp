#include "kernel/mm/IoIter.h"

#include "arch/x86_64/mm/UserCopy.h"
#include "kernel/debug/Panic.h"
#include "kernel/lib/Result.h"
#include "kernel/lib/String.h"
#include "kernel/mm/PageAllocator.h"


namespace mm {

IoIter IoIter::user_vector(const IoSegment* segments, usize segment_count, usize total)
{
    IoIter iter;
    iter.m_kind = Kind::UserVector;
    iter.m_segments = segments;
    iter.m_segment_total = segment_count;
    iter.m_count = total;
    return iter;
}

IoIter IoIter::pages(const PageSegment* segments, usize segment_count, usize total)
{
    IoIter iter;
    iter.m_kind = Kind::Pages;
    iter.m_pages = segments;
    iter.m_segment_total = segment_count;
    iter.m_count = total;
    return iter;
}

usize IoIter::segment_count() const
{
    return m_kind == Kind::Kernel || m_kind == Kind::User ? 1 : m_segment_total;
}

uptr IoIter::segment_address(usize index) const
{
    switch (m_kind) {
    case Kind::Kernel:
    case Kind::User: return reinterpret_cast<uptr>(m_single.base);
    case Kind::UserVector: return reinterpret_cast<uptr>(m_segments[index].base);
    case Kind::Pages:
        return reinterpret_cast<uptr>(page_address(m_pages[index].page)) + m_pages[index].offset;
    }
    return 0;
}

usize IoIter::segment_length(usize index) const
{
    switch (m_kind) {
    case Kind::Kernel:
    case Kind::User: return m_single.length;
    case Kind::UserVector: return m_segments[index].length;
    case Kind::Pages: return m_pages[index].length;
    }
    return 0;
}

template <typename Step>
usize IoIter::walk(usize n, Step step)
{
    n = min(n, m_count);
    usize moved = 0;
    while (moved < n && m_index < segment_count()) {
        const usize left_in_segment = segment_length(m_index) - m_offset;
        if (left_in_segment == 0) { // empty iovec entries are legal
            m_index++;
            m_offset = 0;
            continue;
        }
        const uptr address = segment_address(m_index) + m_offset;
        usize piece = min(left_in_segment, n - moved);
        // A user piece stays within one user page: the page is either
        // accessible or not, so a failed piece moved nothing and the count
        // of bytes moved is exact.
        if (is_user())
            piece = min<usize>(piece, PAGE_SIZE - (address & (PAGE_SIZE - 1)));
        const usize done = step(address, piece, moved);
        moved += done;
        m_offset += done;
        m_count -= done;
        if (done < piece)
            break;
    }
    return moved;
}

void IoIter::advance(usize n)
{
    ASSERT(n <= m_count);
    walk(n, [](uptr, usize piece, usize) { return piece; });
}

void IoIter::revert(usize n)
{
    m_count += n;
    while (n) {
        if (m_offset == 0) {
            ASSERT(m_index > 0);
            m_index--;
            m_offset = segment_length(m_index);
            continue;
        }
        const usize back = min(n, m_offset);
        m_offset -= back;
        n -= back;
    }
}

void IoIter::truncate(usize n)
{
    if (n >= m_count)
        return;
    m_limit_slack += m_count - n;
    m_count = n;
}

void IoIter::expand(usize n)
{
    const usize back = min(n, m_limit_slack);
    m_limit_slack -= back;
    m_count += back;
}

usize IoIter::copy_to(const void* source, usize n)
{
    const u8* from = static_cast<const u8*>(source);
    return walk(n, [&](uptr address, usize piece, usize moved) -> usize {
        if (is_user())
            return user::copy_to_user(reinterpret_cast<void*>(address), from + moved, piece).is_error() ? 0 : piece;
        memcpy(reinterpret_cast<void*>(address), from + moved, piece);
        return piece;
    });
}

usize IoIter::copy_from(void* destination, usize n)
{
    u8* to = static_cast<u8*>(destination);
    return walk(n, [&](uptr address, usize piece, usize moved) -> usize {
        if (is_user())
            return user::copy_from_user(to + moved, reinterpret_cast<const void*>(address), piece).is_error() ? 0
                                                                                                                : piece;
        memcpy(to + moved, reinterpret_cast<const void*>(address), piece);
        return piece;
    });
}

usize IoIter::zero(usize n)
{
    return walk(n, [&](uptr address, usize piece, usize) -> usize {
        if (is_user())
            return user::clear_user(reinterpret_cast<void*>(address), piece).is_error() ? 0 : piece;
        memset(reinterpret_cast<void*>(address), 0, piece);
        return piece;
    });
}

uptr IoIter::alignment() const
{
    uptr bits = 0;
    usize left = m_count;
    usize offset = m_offset;
    for (usize index = m_index; left && index < segment_count(); index++) {
        const usize length = min(segment_length(index) - offset, left);
        if (length) {
            const uptr address = m_kind == Kind::Pages ? m_pages[index].offset + offset : segment_address(index) + offset;
            bits |= address | length;
        }
        left -= length;
        offset = 0;
    }
    return bits;
}

u32 IoIter::current_page_piece(usize max, Page*& page, u32& offset) const
{
    ASSERT(!is_user());
    usize index = m_index;
    usize in_segment = m_offset;
    while (index < segment_count() && in_segment == segment_length(index)) {
        index++;
        in_segment = 0;
    }
    if (m_count == 0 || index >= segment_count())
        return 0;
    const usize left = min(segment_length(index) - in_segment, min(max, m_count));
    if (m_kind == Kind::Pages) {
        page = m_pages[index].page;
        offset = static_cast<u32>(m_pages[index].offset + in_segment);
    } else {
        const uptr address = segment_address(index) + in_segment;
        page = virt_to_page(reinterpret_cast<void*>(address));
        offset = static_cast<u32>(address & (PAGE_SIZE - 1));
    }
    return static_cast<u32>(min<usize>(left, PAGE_SIZE - offset));
}

} // namespace mm
