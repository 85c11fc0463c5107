// The page cache: lookup and insertion, reads with readahead, buffered
// writes, writeback and truncation. Page states and their invariants are in
// fs/pagecache/PageState.h.
#include "fs/pagecache/AddressSpace.h"

#include "fs/pagecache/PageState.h"
#include "kernel/block/BlkMq.h"
#include "kernel/block/BlockDevice.h"
#include "kernel/debug/Panic.h"
#include "kernel/lib/String.h"
#include "kernel/log/Log.h"
#include "kernel/mm/Heap.h"
#include "kernel/mm/PageAllocator.h"
#include "kernel/sched/Thread.h"
#include "kernel/sync/Guarded.h"
#include "kernel/sync/WaitQueue.h"

namespace {

const RadixTreeAllocator g_tree_allocator = {
    [](usize size) { return kmalloc(size); },
    [](void* pointer) { kfree(pointer); },
};

u64 g_cached_pages = 0;
u64 g_dirty_pages = 0;
u64 g_writeback_pages = 0;

void add_counter(u64& counter, i64 delta) { __atomic_fetch_add(&counter, static_cast<u64>(delta), __ATOMIC_RELAXED); }
u64 load_counter(const u64& counter) { return __atomic_load_n(&counter, __ATOMIC_RELAXED); }

// Address spaces with dirty pages, for the writeback thread.
Guarded<IntrusiveList<AddressSpace, &AddressSpace::dirty_link>> g_dirty_spaces{LockRank::Generic,
                                                                                 "dirty address spaces"};
// Writers throttled above the hard threshold wait here; writeback completions wake them.
WaitQueue g_throttle_queue;
WaitQueue g_flusher_queue;
u64 g_background_pages = 0;
u64 g_hard_pages = 0;

// The bios of one page: up to one per run of contiguous blocks.
struct PageIo {
    AddressSpace* space;
    Page* page;
    bool write;
    u32 pending;
    int error;
    block::Bio bios[PageMap::MAX_BLOCKS];
    block::BioVec vecs[PageMap::MAX_BLOCKS];
};

void finish_page_io(PageIo* io)
{
    Page* page = io->page;
    AddressSpace& space = *io->space;
    if (!io->write) {
        if (io->error) {
            pagecache::set_flag(page, PAGE_ERROR);
        } else {
            pagecache::clear_flag(page, PAGE_ERROR);
            pagecache::set_flag(page, PAGE_UPTODATE);
        }
        pagecache::unlock_page(page);
    } else {
        {
            SpinLockGuard guard(space.lock);
            if (io->error) {
                space.writeback_error = io->error;
                pagecache::set_flag(page, PAGE_ERROR);
            }
            space.pages.clear_tag(page->index, RadixTree::TAG_WRITEBACK);
            pagecache::clear_flag(page, PAGE_WRITEBACK);
        }
        add_counter(g_writeback_pages, -1);
        pagecache::wake_page_waiters(page);
        g_throttle_queue.wake_all();
        pagecache::put_page(page);
    }
    kfree(io);
}

void page_io_end(block::Bio& bio)
{
    auto* io = static_cast<PageIo*>(bio.private_data);
    if (bio.status)
        __atomic_store_n(&io->error, bio.status, __ATOMIC_RELAXED);
    if (__atomic_sub_fetch(&io->pending, 1, __ATOMIC_ACQ_REL) == 0)
        finish_page_io(io);
}

// Read or write the blocks of `page` selected by `mask` (bit i: block i of
// `map`), one bio per run of device-contiguous blocks. Holes are zeroed on a
// read and skipped on a write. Completion (possibly right away) ends the I/O
// state: read -> UPTODATE/ERROR + unlock; write -> clear WRITEBACK + put.
Result<void> submit_page_io(AddressSpace& space, Page* page, const PageMap& map, u32 mask, bool write,
                            block::Plug* plug)
{
    auto* io = static_cast<PageIo*>(kzalloc(sizeof(PageIo)));
    if (!io)
        return Error::from_errno(ENOMEM);
    io->space = &space;
    io->page = page;
    io->write = write;
    u8* data = static_cast<u8*>(mm::page_address(page));

    u32 runs = 0;
    for (u32 i = 0; i < map.count;) {
        if (!(mask & (1u << i)) || map.blocks[i] == PageMap::HOLE) {
            if (!write && map.blocks[i] == PageMap::HOLE)
                memset(data + i * map.block_size, 0, map.block_size);
            i++;
            continue;
        }
        u32 end = i + 1;
        while (end < map.count && (mask & (1u << end)) && map.blocks[end] == map.blocks[end - 1] + 1)
            end++;
        io->vecs[runs] = {page, i * map.block_size, (end - i) * map.block_size};
        block::bio_init(io->bios[runs], write ? block::BioOp::Write : block::BioOp::Read,
                        map.blocks[i] * (map.block_size / block::SECTOR_SIZE), &io->vecs[runs], 1);
        io->bios[runs].device = space.device;
        io->bios[runs].end_io = page_io_end;
        io->bios[runs].private_data = io;
        runs++;
        i = end;
    }
    if (write)
        pagecache::get_page(page);
    if (runs == 0) {
        finish_page_io(io);
        return {};
    }
    io->pending = runs;
    for (u32 i = 0; i < runs; i++)
        block::submit_bio(io->bios[i], plug);
    return {};
}

u32 all_blocks(const PageMap& map) { return map.count >= 32 ? ~0u : (1u << map.count) - 1; }

// The blocks of `map` that hold dirty sectors (sector tracking).
u32 dirty_blocks_from_sectors(const PageMap& map, u64 sectors)
{
    u32 mask = 0;
    const u32 sectors_per_block = map.block_size / block::SECTOR_SIZE;
    for (u32 i = 0; i < map.count; i++) {
        const u64 block_sectors = ((1ul << sectors_per_block) - 1) << (i * sectors_per_block);
        if (sectors & block_sectors)
            mask |= 1u << i;
    }
    return mask;
}

void remove_from_dirty_list_if_clean(AddressSpace& space)
{
    g_dirty_spaces.with([&](auto& list) {
        SpinLockGuard guard(space.lock);
        if (space.dirty_pages == 0 && space.dirty_link.is_linked())
            list.remove(space);
    });
}

} // namespace

AddressSpace::AddressSpace(block::BlockDevice* device_, const AddressSpaceOperations* operations)
    : device(device_), ops(operations), pages(g_tree_allocator)
{
}

AddressSpace::~AddressSpace()
{
    pagecache::truncate(*this, 0);
    g_dirty_spaces.with([&](auto& list) {
        if (dirty_link.is_linked())
            list.remove(*this);
    });
}

namespace pagecache {

Counters counters()
{
    return {load_counter(g_cached_pages), load_counter(g_dirty_pages), load_counter(g_writeback_pages)};
}

Page* find_page(AddressSpace& space, u64 index)
{
    SpinLockGuard guard(space.lock);
    auto* page = static_cast<Page*>(space.pages.lookup(index));
    if (page)
        get_page(page);
    return page;
}

Result<Page*> find_or_create_locked(AddressSpace& space, u64 index)
{
    for (;;) {
        if (Page* page = find_page(space, index)) {
            lock_page(page);
            if (page->mapping == &space)
                return page;
            unlock_page(page); // truncated while we waited
            put_page(page);
            continue;
        }
        const bool memory_only = !space.device;
        Page* page = mm::alloc_page(memory_only ? mm::ALLOC_ZERO : mm::ALLOC_NONE);
        if (!page)
            return Error::from_errno(ENOMEM);
        page->flags |= PAGE_LOCKED | (memory_only ? static_cast<u32>(PAGE_UPTODATE) : 0u);
        page->mapping = &space;
        page->index = index;
        page->private_data = nullptr;
        page->refcount = 2; // the tree's and the caller's
        Result<void> inserted;
        {
            SpinLockGuard guard(space.lock);
            inserted = space.pages.insert(index, page);
            if (!inserted.is_error())
                space.page_count++;
        }
        if (inserted.is_error()) {
            page->flags = 0;
            page->refcount = 1;
            page->mapping = nullptr;
            mm::free_page(page);
            if (inserted.error().code() == EEXIST)
                continue;
            return inserted.error();
        }
        add_counter(g_cached_pages, 1);
        return page;
    }
}

// Create and start reading the missing pages of [start, start + count);
// `trigger` gets the readahead mark. The bios go through one plug so that
// blk-mq merges neighbours into large requests.
static void issue_reads(AddressSpace& space, u64 start, u64 count, u64 trigger)
{
    block::Plug plug;
    for (u64 index = start; index < start + count; index++) {
        if (Page* existing = find_page(space, index)) {
            put_page(existing);
            continue;
        }
        auto created = find_or_create_locked(space, index);
        if (created.is_error())
            break; // out of memory: read what we have
        Page* page = created.value();
        if (test_flag(page, PAGE_UPTODATE)) {
            unlock_page(page);
            put_page(page);
            continue;
        }
        if (index == trigger)
            set_flag(page, PAGE_READAHEAD);
        PageMap map;
        auto mapped = space.ops->map_page(space, index, false, 0, 0, map);
        if (mapped.is_error() || submit_page_io(space, page, map, all_blocks(map), false, &plug).is_error()) {
            set_flag(page, PAGE_ERROR);
            unlock_page(page);
        }
        put_page(page);
    }
}

// Bring a locked, not up-to-date page up to date; returns with it locked.
static Result<void> read_locked_page(AddressSpace& space, Page* page)
{
    PageMap map;
    TRY(space.ops->map_page(space, page->index, false, 0, 0, map));
    {
        block::Plug plug;
        TRY(submit_page_io(space, page, map, all_blocks(map), false, &plug));
    }
    wait_on_page_locked(page);
    lock_page(page);
    if (!test_flag(page, PAGE_UPTODATE))
        return Error::from_errno(EIO);
    return {};
}

Result<Page*> read_page(AddressSpace& space, u64 index, ReadaheadState* ra, u64 request_pages, u64 file_pages)
{
    Page* page = find_page(space, index);
    if (!page) {
        ReadaheadRequest request {index, 1, ReadaheadRequest::NO_TRIGGER};
        if (ra)
            request = ra->on_miss(index, request_pages, file_pages);
        if (request.count == 0 || index < request.start || index >= request.start + request.count)
            request = {index, 1, ReadaheadRequest::NO_TRIGGER};
        issue_reads(space, request.start, request.count, request.trigger);
        page = find_page(space, index);
        if (!page) {
            // Out of memory while creating it, or truncated meanwhile.
            page = TRY(find_or_create_locked(space, index));
            if (!test_flag(page, PAGE_UPTODATE)) {
                auto result = read_locked_page(space, page);
                unlock_page(page);
                if (result.is_error()) {
                    put_page(page);
                    return result.error();
                }
            } else {
                unlock_page(page);
            }
            return page;
        }
    }
    if (ra && test_flag(page, PAGE_READAHEAD) && test_and_clear_flag(page, PAGE_READAHEAD)) {
        const ReadaheadRequest request = ra->on_marked_hit(index, request_pages, file_pages);
        if (request.count)
            issue_reads(space, request.start, request.count, request.trigger);
    }
    if (!test_flag(page, PAGE_UPTODATE)) {
        wait_on_page_locked(page);
        if (!test_flag(page, PAGE_UPTODATE)) {
            // The read failed (or the page was truncated): try once more, synchronously.
            lock_page(page);
            Result<void> result;
            if (!test_flag(page, PAGE_UPTODATE) && page->mapping == &space)
                result = read_locked_page(space, page);
            const bool ok = test_flag(page, PAGE_UPTODATE);
            unlock_page(page);
            if (!ok) {
                put_page(page);
                return result.is_error() ? result.error() : Error::from_errno(EIO);
            }
        }
    }
    set_flag(page, PAGE_REFERENCED);
    return page;
}

Result<usize> read(AddressSpace& space, u64 file_size, ReadaheadState& ra, u64 offset, void* buffer, usize length)
{
    if (offset >= file_size || length == 0)
        return 0ul;
    length = static_cast<usize>(min<u64>(length, file_size - offset));
    const u64 file_pages = (file_size + PAGE_SIZE - 1) / PAGE_SIZE;
    const u64 last_index = (offset + length - 1) / PAGE_SIZE;
    auto* out = static_cast<u8*>(buffer);
    usize done = 0;
    while (done < length) {
        const u64 position = offset + done;
        const u64 index = position / PAGE_SIZE;
        const usize in_page = position % PAGE_SIZE;
        const usize chunk = min<usize>(PAGE_SIZE - in_page, length - done);
        auto page = read_page(space, index, &ra, last_index - index + 1, file_pages);
        if (page.is_error()) {
            if (done > 0)
                break;
            return page.error();
        }
        memcpy(out + done, static_cast<u8*>(mm::page_address(page.value())) + in_page, chunk);
        put_page(page.value());
        done += chunk;
    }
    ra.note_access((offset + done - 1) / PAGE_SIZE);
    return done;
}

Result<usize> write(AddressSpace& space, u64& file_size, u64 offset, const void* buffer, usize length)
{
    const auto* in = static_cast<const u8*>(buffer);
    usize done = 0;
    Result<void> status;
    while (done < length) {
        const u64 position = offset + done;
        const u64 index = position / PAGE_SIZE;
        const u32 in_page = position % PAGE_SIZE;
        const u32 chunk = static_cast<u32>(min<usize>(PAGE_SIZE - in_page, length - done));
        auto created = find_or_create_locked(space, index);
        if (created.is_error()) {
            status = created.error();
            break;
        }
        Page* page = created.value();
        u8* data = static_cast<u8*>(mm::page_address(page));
        if (!test_flag(page, PAGE_UPTODATE)) {
            const u64 page_start = index * PAGE_SIZE;
            if (chunk == PAGE_SIZE || page_start >= file_size) {
                memset(data, 0, PAGE_SIZE); // nothing before EOF to keep
            } else {
                auto read = read_locked_page(space, page);
                if (read.is_error()) {
                    unlock_page(page);
                    put_page(page);
                    status = read.error();
                    break;
                }
                // What lies past the old EOF is not file data: make it zeros.
                if (file_size < page_start + PAGE_SIZE)
                    memset(data + (file_size - page_start), 0, page_start + PAGE_SIZE - file_size);
            }
            set_flag(page, PAGE_UPTODATE);
        }
        if (space.device && space.ops) {
            PageMap map;
            auto mapped = space.ops->map_page(space, index, true, in_page, in_page + chunk, map);
            if (mapped.is_error()) {
                unlock_page(page);
                put_page(page);
                status = mapped.error();
                break;
            }
        }
        memcpy(data + in_page, in + done, chunk);
        mark_dirty(space, page, in_page, chunk);
        unlock_page(page);
        put_page(page);
        done += chunk;
        if (offset + done > file_size)
            file_size = offset + done;
    }
    if (done > 0)
        balance_dirty_pages(space);
    if (done == 0 && status.is_error())
        return status.error();
    return done;
}

void mark_dirty(AddressSpace& space, Page* page, u32 offset, u32 length)
{
    if (!space.device || length == 0)
        return; // memory-only pages are never written anywhere
    bool newly_dirty = false;
    {
        SpinLockGuard guard(space.lock);
        if (space.sector_dirty_tracking) {
            const u32 first = offset / block::SECTOR_SIZE;
            const u32 last = (offset + length - 1) / block::SECTOR_SIZE;
            u64 bits = reinterpret_cast<uptr>(page->private_data);
            for (u32 s = first; s <= last; s++)
                bits |= 1ul << s;
            page->private_data = reinterpret_cast<void*>(bits);
        }
        if (!test_and_set_flag(page, PAGE_DIRTY)) {
            space.pages.set_tag(page->index, RadixTree::TAG_DIRTY);
            space.dirty_pages++;
            newly_dirty = true;
        }
    }
    if (newly_dirty) {
        add_counter(g_dirty_pages, 1);
        g_dirty_spaces.with([&](auto& list) {
            if (!space.dirty_link.is_linked())
                list.push_back(space);
        });
        if (load_counter(g_dirty_pages) > g_background_pages)
            g_flusher_queue.wake_all();
    }
}

void forget_dirty(AddressSpace& space, u64 byte_offset, u32 length)
{
    if (!space.sector_dirty_tracking || length == 0)
        return;
    Page* page = find_page(space, byte_offset / PAGE_SIZE);
    if (!page)
        return;
    {
        SpinLockGuard guard(space.lock);
        const u32 first = (byte_offset % PAGE_SIZE) / block::SECTOR_SIZE;
        const u32 last = (byte_offset % PAGE_SIZE + length - 1) / block::SECTOR_SIZE;
        u64 bits = reinterpret_cast<uptr>(page->private_data);
        for (u32 s = first; s <= last && s < 64; s++)
            bits &= ~(1ul << s);
        page->private_data = reinterpret_cast<void*>(bits);
        // A page whose dirty sectors are all forgotten stays tagged; writeback
        // finds nothing to write in it and cleans it.
    }
    put_page(page);
}

// Start writing one dirty page; the page is locked by the caller.
static Result<void> write_one_page(AddressSpace& space, Page* page, block::Plug& plug)
{
    u64 sectors = ~0ul;
    {
        SpinLockGuard guard(space.lock);
        if (!test_and_clear_flag(page, PAGE_DIRTY))
            return {};
        if (space.sector_dirty_tracking) {
            sectors = reinterpret_cast<uptr>(page->private_data);
            page->private_data = nullptr;
        }
        space.pages.clear_tag(page->index, RadixTree::TAG_DIRTY);
        space.pages.set_tag(page->index, RadixTree::TAG_WRITEBACK);
        space.dirty_pages--;
        set_flag(page, PAGE_WRITEBACK);
    }
    add_counter(g_dirty_pages, -1);
    add_counter(g_writeback_pages, 1);
    PageMap map;
    auto mapped = space.ops->map_page(space, page->index, false, 0, 0, map);
    if (mapped.is_error()) {
        SpinLockGuard guard(space.lock);
        space.writeback_error = mapped.error().code();
    }
    const u32 mask = mapped.is_error() ? 0
        : space.sector_dirty_tracking    ? dirty_blocks_from_sectors(map, sectors)
                                         : all_blocks(map);
    auto submitted = submit_page_io(space, page, map, mask, true, &plug);
    if (submitted.is_error()) {
        // Could not even start: the page stays dirty for the next attempt.
        {
            SpinLockGuard guard(space.lock);
            space.pages.clear_tag(page->index, RadixTree::TAG_WRITEBACK);
            clear_flag(page, PAGE_WRITEBACK);
        }
        add_counter(g_writeback_pages, -1);
        mark_dirty(space, page);
        return submitted.error();
    }
    return {};
}

Result<void> write_back(AddressSpace& space, bool wait, u64 first, u64 last)
{
    if (!space.device || !space.ops)
        return {};
    constexpr usize BATCH = 16;
    Result<void> status;
    u64 index = first;
    for (;;) {
        Page* batch[BATCH];
        u64 indices[BATCH];
        usize found;
        {
            SpinLockGuard guard(space.lock);
            found = space.pages.gang_lookup_tagged(index, RadixTree::TAG_DIRTY, reinterpret_cast<void**>(batch),
                                                   indices, BATCH);
            for (usize i = 0; i < found; i++)
                get_page(batch[i]);
        }
        if (found == 0)
            break;
        block::Plug plug;
        bool past_end = false;
        for (usize i = 0; i < found; i++) {
            Page* page = batch[i];
            if (indices[i] > last) {
                past_end = true;
            } else {
                lock_page(page);
                if (page->mapping == &space) {
                    if (test_flag(page, PAGE_WRITEBACK))
                        wait_on_page_writeback(page); // written again while on its way out
                    auto result = write_one_page(space, page, plug);
                    if (result.is_error() && !status.is_error())
                        status = result.error();
                }
                unlock_page(page);
            }
            put_page(page);
        }
        if (past_end || indices[found - 1] >= last)
            break;
        index = indices[found - 1] + 1;
    }
    if (wait) {
        u64 at = first;
        for (;;) {
            void* item;
            u64 found_index;
            {
                SpinLockGuard guard(space.lock);
                item = space.pages.find_next_tagged(at, RadixTree::TAG_WRITEBACK, found_index);
                if (item)
                    get_page(static_cast<Page*>(item));
            }
            if (!item || found_index > last) {
                if (item)
                    put_page(static_cast<Page*>(item));
                break;
            }
            wait_on_page_writeback(static_cast<Page*>(item));
            put_page(static_cast<Page*>(item));
            if (found_index == ~0ul)
                break;
            at = found_index + 1;
        }
        int error;
        {
            SpinLockGuard guard(space.lock);
            error = kstd::exchange(space.writeback_error, 0);
        }
        if (error && !status.is_error())
            status = Error::from_errno(EIO);
    }
    remove_from_dirty_list_if_clean(space);
    return status;
}

Result<void> flush_device(AddressSpace& space)
{
    if (!space.device)
        return {};
    block::Bio bio;
    block::bio_init(bio, block::BioOp::Flush, 0, nullptr, 0);
    bio.device = space.device;
    const int error = block::submit_bio_wait(bio);
    if (error)
        return Error::from_errno(error);
    return {};
}

// Drop the pages with index in [first, last], waiting for their I/O.
static void drop_pages(AddressSpace& space, u64 first, u64 last)
{
    for (;;) {
        Page* batch[16];
        u64 indices[16];
        usize found;
        {
            SpinLockGuard guard(space.lock);
            found = space.pages.gang_lookup(first, reinterpret_cast<void**>(batch), indices, 16);
            for (usize i = 0; i < found; i++)
                get_page(batch[i]);
        }
        usize kept = found;
        for (usize i = 0; i < found; i++) {
            if (indices[i] > last) {
                kept = i;
                break;
            }
        }
        for (usize i = kept; i < found; i++)
            put_page(batch[i]);
        if (kept == 0)
            break;
        for (usize i = 0; i < kept; i++) {
            Page* page = batch[i];
            lock_page(page);
            wait_on_page_writeback(page);
            bool removed = false;
            bool was_dirty = false;
            {
                SpinLockGuard guard(space.lock);
                if (page->mapping == &space && space.pages.erase(page->index) == page) {
                    removed = true;
                    space.page_count--;
                    if (test_and_clear_flag(page, PAGE_DIRTY)) {
                        space.dirty_pages--;
                        was_dirty = true;
                    }
                    page->mapping = nullptr;
                }
            }
            if (was_dirty)
                add_counter(g_dirty_pages, -1);
            if (removed)
                add_counter(g_cached_pages, -1);
            unlock_page(page);
            if (removed)
                put_page(page); // the tree's reference
            put_page(page);
        }
        if (indices[kept - 1] >= last)
            break;
        first = indices[kept - 1] + 1;
    }
}

Result<void> invalidate_range(AddressSpace& space, u64 first_byte, u64 last_byte)
{
    const u64 first = first_byte / PAGE_SIZE;
    const u64 last = last_byte / PAGE_SIZE;
    auto written = write_back(space, true, first, last);
    drop_pages(space, first, last);
    remove_from_dirty_list_if_clean(space);
    return written;
}

void truncate(AddressSpace& space, u64 from)
{
    drop_pages(space, (from + PAGE_SIZE - 1) / PAGE_SIZE, ~0ul);
    if (from % PAGE_SIZE) {
        if (Page* page = find_page(space, from / PAGE_SIZE)) {
            lock_page(page);
            if (test_flag(page, PAGE_UPTODATE)) {
                const u32 keep = from % PAGE_SIZE;
                memset(static_cast<u8*>(mm::page_address(page)) + keep, 0, PAGE_SIZE - keep);
                mark_dirty(space, page, keep, PAGE_SIZE - keep);
            }
            unlock_page(page);
            put_page(page);
        }
    }
    remove_from_dirty_list_if_clean(space);
}

Thresholds thresholds() { return {g_background_pages, g_hard_pages}; }

void set_thresholds(u64 background_pages, u64 hard_pages)
{
    g_background_pages = background_pages;
    g_hard_pages = max(hard_pages, background_pages);
    g_flusher_queue.wake_all();
    g_throttle_queue.wake_all();
}

// Write back every address space on the dirty list (without waiting).
static void write_back_all()
{
    for (;;) {
        AddressSpace* space = g_dirty_spaces.with([](auto& list) {
            AddressSpace* first = list.pop_front();
            return first;
        });
        if (!space)
            return;
        (void)write_back(*space, false);
        // Still dirty (written again meanwhile): back to the end of the list.
        g_dirty_spaces.with([&](auto& list) {
            SpinLockGuard guard(space->lock);
            if (space->dirty_pages > 0 && !space->dirty_link.is_linked())
                list.push_back(*space);
        });
        if (load_counter(g_dirty_pages) <= g_background_pages / 2)
            return;
    }
}

void balance_dirty_pages(AddressSpace& space)
{
    if (load_counter(g_dirty_pages) <= g_hard_pages)
        return;
    // Above the hard threshold: the writer starts its own pages' writeback and
    // waits until completions bring the total down (the backpressure a slow
    // device puts on a fast writer).
    g_flusher_queue.wake_all();
    while (load_counter(g_dirty_pages) > g_hard_pages) {
        (void)write_back(space, false);
        wait_event_timeout(
            g_throttle_queue, [] { return load_counter(g_dirty_pages) <= g_hard_pages; }, 10'000'000);
    }
}

void init()
{
    const u64 total = mm::page_counters().total;
    // Linux's defaults: dirty_background_ratio 10, dirty_ratio 20.
    set_thresholds(total / 10, total / 5);
    auto flusher = Thread::create("writeback", [] {
        constexpr u64 PERIOD_NS = 2'000'000'000; // like dirty_writeback_centisecs, shorter
        for (;;) {
            wait_event_timeout(
                g_flusher_queue, [] { return load_counter(g_dirty_pages) > g_background_pages; }, PERIOD_NS);
            write_back_all();
            if (load_counter(g_dirty_pages) > 0 && load_counter(g_dirty_pages) <= g_background_pages) {
                // Periodic pass: everything dirty goes out.
                for (;;) {
                    AddressSpace* space = g_dirty_spaces.with([](auto& list) { return list.first(); });
                    if (!space)
                        break;
                    (void)write_back(*space, false);
                    g_dirty_spaces.with([&](auto& list) {
                        if (space->dirty_link.is_linked()) {
                            list.remove(*space);
                            SpinLockGuard guard(space->lock);
                            if (space->dirty_pages > 0)
                                list.push_back(*space);
                        }
                    });
                    if (load_counter(g_dirty_pages) == 0)
                        break;
                    sched::yield();
                }
            }
        }
    });
    if (flusher.is_error())
        log_error("pagecache", "cannot start the writeback thread (errno %d)", flusher.error().code());
    else
        flusher.value()->start();
}

} // namespace pagecache
