// The buffered write path (see PageCache.h for the whole route).
#include "fs/pagecache/PageCache.h"
#include "fs/pagecache/PageIo.h"
#include "fs/pagecache/PageWait.h"
#include "fs/pagecache/Reclaim.h"
#include "fs/pagecache/Writeback.h"
#include "kernel/lib/String.h"
#include "kernel/mm/PageAllocator.h"

namespace pagecache {
namespace {

// The page at `index`, locked, referenced and ready for `length` bytes at
// some offset to be copied in: up to date, or about to be overwritten whole.
Result<Page*> prepare_page(Mapping& space, u64 index, u32 length)
{
    for (;;) {
        Page* page = TRY(grab_cache_page(space, index));
        if (page_test(*page, PAGE_UPTODATE) || length == PAGE_SIZE)
            return page;
        u8* data = static_cast<u8*>(mm::page_address(page));
        const u64 page_start = index << PAGE_SHIFT;
        const u64 size = space.size_bytes();
        if (page_start >= size || !space.has_backing_store()) {
            // Past the end of the file: nothing to read, the rest is zeros.
            memset(data, 0, PAGE_SIZE);
            page_set(*page, PAGE_UPTODATE);
            return page;
        }
        // Read-modify-write: fetch the page, then take it locked again.
        page_clear(*page, PAGE_ERROR);
        PageBatch batch;
        batch.add(*page);
        space.ops().read_pages(space, batch); // unlocks when done
        wait_on_page_locked(*page);
        lock_page(*page);
        if (page->mapping != &space) {
            unlock_page(*page);
            put_page(*page);
            continue; // truncated meanwhile
        }
        if (!page_test(*page, PAGE_UPTODATE)) {
            unlock_page(*page);
            put_page(*page);
            return Error::from_errno(EIO);
        }
        // Bytes past the end of the file read as zeros once the file grows.
        if (size < page_start + PAGE_SIZE)
            memset(data + (size - page_start), 0, page_start + PAGE_SIZE - size);
        return page;
    }
}

} // namespace

Result<usize> buffered_write(Mapping& space, u64 pos, mm::IoIter& buffer)
{
    const usize asked = buffer.count();
    if (asked == 0)
        return 0;
    // Page indexes and the new size are computed from pos + length: it must
    // not wrap (the VFS has already refused offsets past LLONG_MAX).
    if (asked > ~0ull - pos)
        return Error::from_errno(EINVAL);
    auto ready = space.ops().prepare_write(space, pos, asked);
    if (ready.is_error()) {
        space.ops().write_failed(space);
        return ready.error();
    }
    // Short when the filesystem ran out of blocks part-way.
    const usize length = static_cast<usize>(min<u64>(ready.value(), asked));
    // User data is copied into a bounce page before the cache page is
    // locked: a fault taken while holding the page lock could need that very
    // page (the buffer mmapped from this file) and deadlock. Linux copies
    // with page faults disabled and retries after faulting in; without that
    // primitive the extra copy is the safe form.
    Page* bounce = nullptr;
    if (buffer.is_user()) {
        bounce = mm::alloc_page();
        if (!bounce)
            return Error::from_errno(ENOMEM);
    }
    usize done = 0;
    int error = 0;
    while (done < length) {
        const u64 at = pos + done;
        const u64 index = at >> PAGE_SHIFT;
        const u32 offset = at & (PAGE_SIZE - 1);
        u32 chunk = static_cast<u32>(min<u64>(PAGE_SIZE - offset, length - done));
        if (bounce) {
            chunk = static_cast<u32>(buffer.copy_from(mm::page_address(bounce), chunk));
            if (chunk == 0) {
                error = EFAULT;
                break;
            }
        }
        auto prepared = prepare_page(space, index, chunk);
        if (prepared.is_error()) {
            if (bounce)
                buffer.revert(chunk);
            error = prepared.error().code();
            break;
        }
        Page& page = *prepared.value();
        // Not under writeback while we change it? Linux allows it too (no
        // stable pages): the page is dirty again and will be rewritten.
        u8* destination = static_cast<u8*>(mm::page_address(&page)) + offset;
        if (bounce) {
            memcpy(destination, mm::page_address(bounce), chunk);
        } else if (buffer.copy_from(destination, chunk) != chunk && !page_test(page, PAGE_UPTODATE)) {
            // A page taken to be overwritten whole holds whatever its memory
            // held before: never mark it up to date half-filled (Linux's
            // write_end takes nothing from a short copy into such a page).
            unlock_page(page);
            put_page(page);
            error = EFAULT;
            break;
        }
        page_set(page, PAGE_UPTODATE);
        // Only the blocks written: writeback must not allocate the holes
        // that share the page (blocks smaller than a page), which would
        // take blocks nobody wrote and can fail with ENOSPC long after the
        // write() succeeded.
        space.set_page_dirty_range(page, offset, chunk);
        space.extend_size_to(at + chunk);
        unlock_page(page);
        mark_page_accessed(page);
        put_page(page);
        done += chunk;
        balance_dirty_pages(space);
    }
    if (bounce)
        mm::free_page(bounce);
    if (done < asked)
        space.ops().write_failed(space);
    if (done == 0 && error)
        return Error::from_errno(error);
    return done;
}

} // namespace pagecache
