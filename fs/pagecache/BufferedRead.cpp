// The buffered read path (see PageCache.h for the whole route).
#include "fs/pagecache/Counters.h"
#include "fs/pagecache/PageCache.h"
#include "fs/pagecache/PageIo.h"
#include "fs/pagecache/PageWait.h"
#include "fs/pagecache/Reclaim.h"
#include "fs/pagecache/Writeback.h"
#include "kernel/lib/String.h"
#include "kernel/mm/PageAllocator.h"

namespace pagecache {
namespace {

void submit_reads(Mapping& space, PageBatch& batch)
{
    if (batch.is_empty())
        return;
    space.ops().read_pages(space, batch);
    batch.clear();
}

// A fresh page, locked, inserted at `index`; our allocation reference is
// kept. Null with `error` set (EEXIST: somebody else inserted one first).
Page* insert_new_page(Mapping& space, u64 index, Page* page, int& error)
{
    page->flags.store(PAGE_LOCKED, MemoryOrder::Relaxed);
    auto inserted = space.add_page(*page, index);
    if (inserted.is_error()) {
        page->flags.store(0, MemoryOrder::Relaxed);
        mm::free_page(page);
        error = inserted.error().code();
        return nullptr;
    }
    return page;
}

// Read a locked, not up to date page in the tree and wait for it. The page
// comes back unlocked; false if the read failed.
bool read_and_wait(Mapping& space, Page& page)
{
    page_clear(page, PAGE_ERROR);
    PageBatch batch;
    batch.add(page);
    space.ops().read_pages(space, batch);
    wait_on_page_locked(page);
    return page_test(page, PAGE_UPTODATE);
}

// `page` (referenced) is not up to date: wait for the read in flight, retry
// once if it failed. EAGAIN: the page was truncated meanwhile (look it up again).
Result<void> wait_uptodate(Mapping& space, Page& page)
{
    wait_on_page_locked(page);
    if (page_test(page, PAGE_UPTODATE))
        return {};
    lock_page(page);
    if (page.mapping != &space) {
        unlock_page(page);
        return Error::from_errno(EAGAIN);
    }
    if (page_test(page, PAGE_UPTODATE)) {
        unlock_page(page);
        return {};
    }
    if (!read_and_wait(space, page))
        return Error::from_errno(EIO);
    return {};
}

// The page at `index`, up to date, with a reference; readahead as `ra` says.
// `nowait`: EAGAIN instead of waiting for a read (one is started on a miss).
Result<Page*> get_page_for_read(Mapping& space, ReadaheadState* ra, u64 index, u64 request_pages, bool nowait = false)
{
    for (;;) {
        Page* page = space.find_get_page(index);
        if (!page) {
            if (ra) {
                const ReadaheadRequest request = ra->on_miss(index, request_pages, space.page_count());
                readahead(space, request.start, request.count, request.trigger);
                page = space.find_get_page(index);
            } else if (nowait) {
                readahead(space, index, request_pages);
                page = space.find_get_page(index);
            }
            if (!page && nowait)
                return Error::from_errno(EAGAIN);
            if (!page) {
                // No readahead, or it could not allocate: just this page.
                Page* fresh = alloc_cache_page();
                if (!fresh)
                    return Error::from_errno(ENOMEM);
                int error = 0;
                page = insert_new_page(space, index, fresh, error);
                if (!page) {
                    if (error == EEXIST)
                        continue;
                    return Error::from_errno(error);
                }
                PageBatch batch;
                batch.add(*page);
                space.ops().read_pages(space, batch);
            }
        } else if (ra && page_test(*page, PAGE_READAHEAD) && page_test_and_clear(*page, PAGE_READAHEAD)) {
            const ReadaheadRequest request = ra->on_marked_hit(index, request_pages, space.page_count());
            readahead(space, request.start, request.count, request.trigger);
        }
        if (!page_test(*page, PAGE_UPTODATE)) {
            if (nowait) {
                put_page(*page);
                return Error::from_errno(EAGAIN);
            }
            auto ready = wait_uptodate(space, *page);
            if (ready.is_error()) {
                put_page(*page);
                if (ready.error().code() == EAGAIN)
                    continue;
                return ready.error();
            }
        }
        return page;
    }
}

} // namespace

void readahead(Mapping& space, u64 start, u64 count, u64 trigger)
{
    PageBatch batch;
    const u64 end = min(start + count, space.page_count());
    for (u64 index = start; index < end; index++) {
        if (Page* present = space.find_get_page(index)) {
            put_page(*present);
            submit_reads(space, batch); // runs are contiguous
            continue;
        }
        // Readahead is optional: below the reserve it stops rather than
        // pushing other allocations into reclaim.
        if (mm::page_counters().free < watermarks().min_pages)
            break;
        Page* fresh = mm::alloc_page();
        if (!fresh)
            break;
        int error = 0;
        Page* page = insert_new_page(space, index, fresh, error);
        if (!page) {
            if (error != EEXIST)
                break;
            submit_reads(space, batch);
            continue;
        }
        if (index == trigger)
            page_set(*page, PAGE_READAHEAD);
        put_page(*page); // locked and in the tree: pinned until the read ends
        batch.add(*page);
        if (batch.is_full())
            submit_reads(space, batch);
    }
    submit_reads(space, batch);
}

Result<usize> buffered_read(Mapping& space, ReadaheadState* ra, u64 pos, mm::IoIter& buffer, u32 flags)
{
    const u64 size = space.size_bytes();
    if (pos >= size || buffer.count() == 0)
        return 0;
    const usize length = min<u64>(buffer.count(), size - pos);
    const bool nowait = flags & READ_NOWAIT;
    usize done = 0;
    while (done < length) {
        const u64 at = pos + done;
        const u64 index = at >> PAGE_SHIFT;
        const u32 offset = at & (PAGE_SIZE - 1);
        const usize chunk = min<u64>(PAGE_SIZE - offset, length - done);
        const u64 last_index = (pos + length - 1) >> PAGE_SHIFT;
        auto page = get_page_for_read(space, ra, index, last_index - index + 1, nowait);
        if (page.is_error()) {
            if (done)
                break;
            return page.error();
        }
        Page& p = *page.value();
        // A user buffer may fault here: the page is referenced, not locked,
        // so resolving the fault may itself read this file.
        const usize copied = buffer.copy_to(static_cast<u8*>(mm::page_address(&p)) + offset, chunk);
        // One access per pass over a page: a reader going through a page in
        // small pieces touches it once (at its first byte), so a streaming
        // read stays on the inactive list and a real re-read promotes.
        if (offset == 0 || !ra)
            mark_page_accessed(p);
        put_page(p);
        if (ra)
            ra->note_access(index);
        done += copied;
        if (copied < chunk) {
            if (done)
                break;
            return Error::from_errno(EFAULT);
        }
    }
    return done;
}

Result<Page*> read_cache_page(Mapping& space, u64 index)
{
    return get_page_for_read(space, nullptr, index, 1);
}

Result<Page*> grab_cache_page(Mapping& space, u64 index)
{
    for (;;) {
        if (Page* page = space.find_get_page(index)) {
            lock_page(*page);
            if (page->mapping == &space)
                return page;
            unlock_page(*page);
            put_page(*page);
            continue;
        }
        Page* fresh = alloc_cache_page();
        if (!fresh)
            return Error::from_errno(ENOMEM);
        int error = 0;
        if (Page* page = insert_new_page(space, index, fresh, error))
            return page;
        if (error != EEXIST)
            return Error::from_errno(error);
    }
}

// --- truncation and invalidation ------------------------------------------------------

void truncate_pages(Mapping& space, u64 new_size)
{
    space.set_size_bytes(new_size);
    // Direct I/O issued against the old size finishes before anything past
    // the new one is dropped or its blocks freed by the caller.
    space.wait_for_direct_io();
    const u32 tail = new_size & (PAGE_SIZE - 1);
    if (tail) {
        if (Page* page = space.find_get_page(new_size >> PAGE_SHIFT)) {
            lock_page(*page);
            if (page->mapping == &space && page_test(*page, PAGE_UPTODATE)) {
                wait_on_page_writeback(*page);
                memset(static_cast<u8*>(mm::page_address(page)) + tail, 0, PAGE_SIZE - tail);
                space.set_page_dirty(*page);
            }
            unlock_page(*page);
            put_page(*page);
        }
    }
    const u64 first = (new_size + PAGE_SIZE - 1) >> PAGE_SHIFT;
    for (;;) {
        Page* pages[PageBatch::CAPACITY];
        const usize found = space.gang_lookup(first, ~0ul, RadixTree::TAG_COUNT, pages, PageBatch::CAPACITY);
        if (found == 0)
            return;
        for (usize i = 0; i < found; i++) {
            Page& page = *pages[i];
            lock_page(page);
            wait_on_page_writeback(page);
            if (page.mapping == &space)
                space.remove_page(page, true);
            unlock_page(page);
            put_page(page);
        }
    }
}

void invalidate_range(Mapping& space, u64 start_byte, u64 end_byte)
{
    if (end_byte < start_byte)
        return;
    u64 index = start_byte >> PAGE_SHIFT;
    const u64 last = end_byte >> PAGE_SHIFT;
    while (index <= last) {
        Page* pages[PageBatch::CAPACITY];
        const usize found = space.gang_lookup(index, last, RadixTree::TAG_COUNT, pages, PageBatch::CAPACITY);
        if (found == 0)
            return;
        for (usize i = 0; i < found; i++) {
            Page& page = *pages[i];
            index = page.index + 1;
            lock_page(page);
            wait_on_page_writeback(page);
            if (page.mapping == &space && !page_test(page, PAGE_DIRTY)) {
                if (!space.remove_page_if_unused(page, 1))
                    page_clear(page, PAGE_UPTODATE); // in use: force a re-read
            }
            unlock_page(page);
            put_page(page);
        }
        if (index == 0)
            return;
    }
}

} // namespace pagecache
