// ktest suite "io_iter": the I/O buffer abstraction (kernel/mm/IoIter.h) on
// its own: every kind copies, advances, reverts and reports its alignment;
// user kinds reach memory only through the user-copy functions.
#include "kernel/lib/String.h"
#include "kernel/mm/Heap.h"
#include "kernel/mm/IoIter.h"
#include "kernel/mm/PageAllocator.h"
#include "tests/ktest/Ktest.h"

using mm::IoIter;
using mm::IoSegment;
using mm::PageSegment;

KTEST(io_iter, kernel_copy_advance_revert)
{
    u8 target[64] = {};
    u8 source[64];
    for (u32 i = 0; i < sizeof(source); i++)
        source[i] = static_cast<u8>(i + 1);
    IoIter iter = IoIter::kernel(target, sizeof(target));
    KEXPECT(!iter.is_user());
    KEXPECT_EQ(iter.count(), 64ul);
    KEXPECT_EQ(iter.copy_to(source, 10), 10ul);
    KEXPECT_EQ(iter.count(), 54ul);
    iter.advance(4); // a gap
    KEXPECT_EQ(iter.copy_to(source + 14, 100), 50ul); // clipped to what is left
    KEXPECT_EQ(iter.count(), 0ul);
    KEXPECT_EQ(memcmp(target, source, 10), 0);
    KEXPECT_EQ(target[10], 0);
    KEXPECT_EQ(memcmp(target + 14, source + 14, 50), 0);
    iter.revert(50);
    KEXPECT_EQ(iter.count(), 50ul);
    u8 back[50];
    KEXPECT_EQ(iter.copy_from(back, 50), 50ul);
    KEXPECT_EQ(memcmp(back, source + 14, 50), 0);
    // truncate/expand bound the end without losing it.
    iter.revert(64);
    iter.truncate(8);
    KEXPECT_EQ(iter.count(), 8ul);
    KEXPECT_EQ(iter.zero(100), 8ul);
    iter.expand(100);
    KEXPECT_EQ(iter.count(), 56ul);
    KEXPECT_EQ(target[7], 0);
    KEXPECT_EQ(target[8], source[8]);
}

KTEST(io_iter, pages_pieces_copy_and_bio_pieces)
{
    Page* first = mm::alloc_page();
    Page* second = mm::alloc_page();
    KASSERT(first && second);
    memset(mm::page_address(first), 0xaa, PAGE_SIZE);
    memset(mm::page_address(second), 0xbb, PAGE_SIZE);
    const PageSegment pieces[] = { { first, 512, 1024 }, { second, 0, PAGE_SIZE } };
    const usize total = 1024 + PAGE_SIZE;
    IoIter iter = IoIter::pages(pieces, 2, total);
    KEXPECT_EQ(iter.count(), total);
    KEXPECT_EQ(iter.alignment() & 511, 0ul);
    u8* data = static_cast<u8*>(kmalloc(total));
    KASSERT(data);
    for (usize i = 0; i < total; i++)
        data[i] = static_cast<u8>(i * 7);
    KEXPECT_EQ(iter.copy_to(data, total), total);
    const u8* a = static_cast<const u8*>(mm::page_address(first));
    const u8* b = static_cast<const u8*>(mm::page_address(second));
    KEXPECT_EQ(a[511], 0xaa);
    KEXPECT_EQ(memcmp(a + 512, data, 1024), 0);
    KEXPECT_EQ(a[512 + 1024], 0xaa);
    KEXPECT_EQ(memcmp(b, data + 1024, PAGE_SIZE), 0);
    // The bio view: one piece per page, never crossing one.
    iter.revert(total);
    iter.advance(1000);
    Page* page = nullptr;
    u32 offset = 0;
    KEXPECT_EQ(iter.current_page_piece(~0ul, page, offset), 24u);
    KEXPECT(page == first);
    KEXPECT_EQ(offset, 1512u);
    iter.advance(24);
    KEXPECT_EQ(iter.current_page_piece(100, page, offset), 100u);
    KEXPECT(page == second);
    KEXPECT_EQ(offset, 0u);
    // A piece at an odd offset makes the iterator misaligned for O_DIRECT.
    const PageSegment odd[] = { { first, 3, 512 } };
    KEXPECT((IoIter::pages(odd, 1, 512).alignment() & 511) != 0);
    kfree(data);
    mm::free_page(first);
    mm::free_page(second);
}

KTEST(io_iter, kernel_buffer_crossing_pages_gives_page_pieces)
{
    u8* buffer = static_cast<u8*>(mm::page_address(mm::alloc_pages(1)));
    KASSERT(buffer);
    IoIter iter = IoIter::kernel(buffer + PAGE_SIZE - 100, 300);
    Page* page = nullptr;
    u32 offset = 0;
    KEXPECT_EQ(iter.current_page_piece(~0ul, page, offset), 100u);
    KEXPECT(page == mm::virt_to_page(buffer));
    KEXPECT_EQ(offset, PAGE_SIZE - 100);
    iter.advance(100);
    KEXPECT_EQ(iter.current_page_piece(~0ul, page, offset), 200u);
    KEXPECT(page == mm::virt_to_page(buffer + PAGE_SIZE));
    mm::free_pages(mm::virt_to_page(buffer), 1);
}

// A kernel address handed in as user memory is refused by access_ok before
// anything is touched: the copy moves nothing and the kernel bytes stay.
KTEST(io_iter, user_kinds_never_dereference_kernel_addresses)
{
    u8 kernel_bytes[32];
    memset(kernel_bytes, 0x5a, sizeof(kernel_bytes));
    const u8 source[32] = { 1, 2, 3 };
    IoIter user = IoIter::user(kernel_bytes, sizeof(kernel_bytes));
    KEXPECT(user.is_user());
    KEXPECT_EQ(user.copy_to(source, sizeof(source)), 0ul);
    KEXPECT_EQ(user.count(), sizeof(kernel_bytes));
    KEXPECT_EQ(user.zero(8), 0ul);
    u8 out[32] = {};
    KEXPECT_EQ(user.copy_from(out, sizeof(out)), 0ul);
    KEXPECT_EQ(out[0], 0);
    KEXPECT_EQ(kernel_bytes[0], 0x5a);

    // An iovec array: empty entries are skipped; the first real segment is a
    // kernel address, so nothing moves.
    const IoSegment segments[] = { { nullptr, 0 }, { kernel_bytes, 16 }, { kernel_bytes + 16, 16 } };
    IoIter vector = IoIter::user_vector(segments, 3, 32);
    KEXPECT(vector.is_user());
    KEXPECT_EQ(vector.copy_to(source, 32), 0ul);
    KEXPECT_EQ(vector.count(), 32ul);
    KEXPECT_EQ(kernel_bytes[16], 0x5a);
    // advance walks the segments without touching memory.
    vector.advance(20);
    KEXPECT_EQ(vector.count(), 12ul);
    vector.revert(20);
    KEXPECT_EQ(vector.count(), 32ul);
    // Alignment covers every segment's address and length.
    const IoSegment aligned[] = { { reinterpret_cast<void*>(0x10000), 4096 }, { reinterpret_cast<void*>(0x20000), 512 } };
    KEXPECT_EQ(IoIter::user_vector(aligned, 2, 4608).alignment() & 511, 0ul);
    const IoSegment ragged[] = { { reinterpret_cast<void*>(0x10000), 4000 }, { reinterpret_cast<void*>(0x20000), 608 } };
    KEXPECT((IoIter::user_vector(ragged, 2, 4608).alignment() & 511) != 0);
}
