#include "fs/pagecache/Mapping.h"

#include "fs/pagecache/Counters.h"
#include "fs/pagecache/PageWait.h"
#include "fs/pagecache/Reclaim.h"
#include "fs/pagecache/Writeback.h"
#include "kernel/block/BlockDevice.h"
#include "kernel/debug/Panic.h"
#include "kernel/lib/Atomic.h"
#include "kernel/log/Log.h"
#include "kernel/mm/Heap.h"
#include "kernel/mm/PageAllocator.h"

namespace pagecache {
namespace {

void* allocate_tree_node(usize size) { return kmalloc(size); }
void free_tree_node(void* node) { kfree(node); }

const RadixTreeAllocator g_tree_allocator = {
    .allocate = allocate_tree_node,
    .free = free_tree_node,
};

u32 log2_exact(u32 value)
{
    ASSERT(value && (value & (value - 1)) == 0);
    return static_cast<u32>(__builtin_ctz(value));
}

} // namespace

Atomic<u64> counter::g_cells[counter::COUNT];

void counter::reset_events()
{
    static constexpr Id EVENTS[] = {PAGES_READ, READ_BIOS,     PAGES_WRITTEN,        WRITE_BIOS,
                                    RECLAIMED,  THROTTLED,     MAX_DIRTY_SEEN,       DIRECT_IO_DRAIN_WAITS};
    for (Id id : EVENTS)
        g_cells[id].store(0ul, MemoryOrder::Relaxed);
}

void put_page(Page& page)
{
    const i32 left = page.refcount.sub_fetch(1, MemoryOrder::AcqRel);
    if (left > 0)
        return;
    ASSERT(left == 0);
    ASSERT(!page.mapping);
    ASSERT(!page_test(page, PAGE_LRU | PAGE_DIRTY | PAGE_WRITEBACK | PAGE_LOCKED));
    mm::free_page(&page);
}

const char* page_state_name(PageState state)
{
    switch (state) {
    case PageState::Missing: return "missing";
    case PageState::Reading: return "reading";
    case PageState::UpToDate: return "uptodate";
    case PageState::Dirty: return "dirty";
    case PageState::Writeback: return "writeback";
    case PageState::Error: return "error";
    }
    return "?";
}

Mapping::Mapping(MappingOperations& ops, block::BlockDevice* device, u32 block_size_bytes, void* host)
    : m_ops(&ops)
    , m_device(device)
    , m_writeback(nullptr)
    , m_host(host)
    , m_block_shift(log2_exact(block_size_bytes))
    , m_tree(LockRank::PageCache, "page cache tree", g_tree_allocator)
{
    ASSERT(block_size_bytes >= 512 && block_size_bytes <= PAGE_SIZE);
    if (device && ops.has_backing_store()) {
        // The device's context exists once it has been created; creating it
        // allocates a thread, which cannot fail silently here: log and run
        // without background writeback (fsync and reclaim still write).
        auto writeback = Writeback::for_device(*device);
        if (writeback.is_error())
            log_error("pagecache", "%s: no writeback thread (errno %d)", device->name(), writeback.error().code());
        else
            m_writeback = writeback.value();
    }
}

Mapping::~Mapping()
{
    ASSERT(nr_pages() == 0);
    ASSERT(!m_dirty_node.is_linked());
}

Page* Mapping::find_get_page(u64 index)
{
    return m_tree.with([&](RadixTree& tree) -> Page* {
        Page* page = static_cast<Page*>(tree.lookup(index));
        if (page)
            get_page(*page);
        return page;
    });
}

Result<void> Mapping::add_page(Page& page, u64 index)
{
    ASSERT(page_test(page, PAGE_LOCKED));
    page.mapping = this;
    page.index = index;
    page.dirty_blocks.store(0, MemoryOrder::Relaxed);
    page.writeback_blocks = 0;
    get_page(page); // the tree's reference
    Result<void> inserted = m_tree.with([&](RadixTree& tree) { return tree.insert(index, &page); });
    if (inserted.is_error()) {
        page.mapping = nullptr;
        page.refcount.fetch_sub(1, MemoryOrder::Relaxed);
        return inserted;
    }
    counter::add(counter::CACHED, 1);
    // Memory-only files (ramfs) are unevictable: never on an LRU list.
    if (has_backing_store())
        lru_add(page);
    return {};
}

void Mapping::remove_page(Page& page, bool discard_dirty)
{
    ASSERT(page_test(page, PAGE_LOCKED));
    ASSERT(page.mapping == this);
    ASSERT(!page_test(page, PAGE_WRITEBACK));
    if (page_test(page, PAGE_DIRTY)) {
        ASSERT(discard_dirty);
        if (page_test_and_clear(page, PAGE_DIRTY)) {
            counter::add(counter::DIRTY, -1);
            if (m_writeback)
                m_writeback->account_dirty(-1);
        }
    }
    m_tree.with([&](RadixTree& tree) {
        void* removed = tree.erase(page.index);
        ASSERT(removed == &page);
        page.mapping = nullptr;
    });
    // After `mapping` is null: reclaim, if it has the page isolated, will
    // then not put it back on a list (Reclaim.cpp put_back).
    lru_remove(page);
    counter::add(counter::CACHED, -1);
    put_page(page);
}

bool Mapping::remove_page_if_unused(Page& page, i32 extra_refs)
{
    ASSERT(page_test(page, PAGE_LOCKED));
    const bool removed = m_tree.with([&](RadixTree& tree) {
        // Lookups take their reference under this lock, so the count cannot
        // grow behind our back once we have checked it here.
        if (page.mapping != this || page_refcount(page) != 1 + extra_refs)
            return false;
        if (page_test(page, PAGE_DIRTY | PAGE_WRITEBACK))
            return false;
        tree.erase(page.index);
        page.mapping = nullptr;
        return true;
    });
    if (!removed)
        return false;
    lru_remove(page); // no-op when reclaim has it isolated
    counter::add(counter::CACHED, -1);
    page.refcount.fetch_sub(1, MemoryOrder::AcqRel); // the tree's; the caller's keep it alive
    return true;
}

usize Mapping::gang_lookup(u64 start, u64 last, RadixTree::Tag tag, Page** pages, usize max)
{
    return m_tree.with([&](RadixTree& tree) {
        void* items[PageBatch::CAPACITY];
        u64 indices[PageBatch::CAPACITY];
        max = min(max, PageBatch::CAPACITY);
        const usize found = tag == RadixTree::TAG_COUNT ? tree.gang_lookup(start, items, indices, max)
                                                        : tree.gang_lookup_tagged(start, tag, items, indices, max);
        usize n = 0;
        for (usize i = 0; i < found && indices[i] <= last; i++) {
            Page* page = static_cast<Page*>(items[i]);
            get_page(*page);
            pages[n++] = page;
        }
        return n;
    });
}

void Mapping::tag_for_sync(u64 start, u64 last)
{
    u64 index = start;
    for (;;) {
        const bool more = m_tree.with([&](RadixTree& tree) {
            void* items[PageBatch::CAPACITY];
            u64 indices[PageBatch::CAPACITY];
            const usize found = tree.gang_lookup_tagged(index, RadixTree::TAG_DIRTY, items, indices, PageBatch::CAPACITY);
            for (usize i = 0; i < found; i++) {
                if (indices[i] > last)
                    return false;
                tree.set_tag(indices[i], RadixTree::TAG_TOWRITE);
            }
            if (found < PageBatch::CAPACITY || indices[found - 1] == ~0ul)
                return false;
            index = indices[found - 1] + 1;
            return true;
        });
        if (!more)
            return;
    }
}

bool Mapping::any_tagged(RadixTree::Tag tag)
{
    return m_tree.with([&](RadixTree& tree) { return tree.any_tagged(tag); });
}

u64 Mapping::nr_pages()
{
    return m_tree.with([](RadixTree& tree) { return static_cast<u64>(tree.size()); });
}

namespace {

u16 blocks_mask(u32 block_shift, u32 offset, u32 length)
{
    if (length == 0)
        return 0;
    const u32 first = offset >> block_shift;
    const u32 last = (offset + length - 1) >> block_shift;
    return static_cast<u16>(((1u << (last + 1)) - 1) & ~((1u << first) - 1));
}

} // namespace

bool Mapping::set_page_dirty(Page& page) { return set_page_dirty_range(page, 0, PAGE_SIZE); }

bool Mapping::set_page_dirty_range(Page& page, u32 offset, u32 length)
{
    ASSERT(page_test(page, PAGE_UPTODATE));
    ASSERT(offset + length <= PAGE_SIZE);
    // Memory-only pages have nowhere to go: nothing to track.
    if (!has_backing_store())
        return false;
    // Blocks before the flag: writeback takes the mask after clearing the
    // flag, so a block marked here is written by this pass or the next.
    page.dirty_blocks.fetch_or(blocks_mask(m_block_shift, offset, length), MemoryOrder::AcqRel);
    if (page_test_and_set(page, PAGE_DIRTY))
        return false;
    const bool tagged = m_tree.with([&](RadixTree& tree) {
        return page.mapping == this && tree.set_tag(page.index, RadixTree::TAG_DIRTY);
    });
    if (!tagged) {
        // Truncated under us: it is no longer a file page.
        page_clear(page, PAGE_DIRTY);
        return false;
    }
    counter::add(counter::DIRTY, 1);
    if (m_writeback) {
        m_writeback->account_dirty(1);
        m_writeback->note_dirty(*this);
    }
    return true;
}

bool Mapping::clear_dirty_for_io(Page& page)
{
    ASSERT(page_test(page, PAGE_LOCKED));
    ASSERT(!page_test(page, PAGE_WRITEBACK));
    if (!page_test(page, PAGE_DIRTY))
        return false;
    // WRITEBACK before DIRTY goes: the page is never seen clean and idle
    // while its data is not on the device yet.
    page_set(page, PAGE_WRITEBACK);
    page_clear(page, PAGE_DIRTY);
    page.writeback_blocks = page.dirty_blocks.exchange(u16(0), MemoryOrder::AcqRel);
    m_tree.with([&](RadixTree& tree) {
        tree.clear_tag(page.index, RadixTree::TAG_DIRTY);
        tree.clear_tag(page.index, RadixTree::TAG_TOWRITE);
        tree.set_tag(page.index, RadixTree::TAG_WRITEBACK);
    });
    counter::add(counter::DIRTY, -1);
    counter::add(counter::WRITEBACK, 1);
    if (m_writeback) {
        m_writeback->account_dirty(-1);
        m_writeback->account_writeback(1);
    }
    return true;
}


void end_page_writeback(Page& page, int error)
{
    Mapping* space = page.mapping;
    ASSERT(space); // pages under writeback are never removed
    if (error) {
        page_set(page, PAGE_ERROR);
        space->record_error(error);
        log_warn("pagecache", "write error %d at page %lu", error, page.index);
    }
    space->m_tree.with([&](RadixTree& tree) { tree.clear_tag(page.index, RadixTree::TAG_WRITEBACK); });
    if (space->m_writeback)
        space->m_writeback->account_writeback(-1);
    counter::add(counter::WRITEBACK, -1);
    page_clear(page, PAGE_WRITEBACK);
    wake_page_waiters(page);
    writeback_completed();
}


void Mapping::forget_dirty(u64 byte_offset, u64 length)
{
    const u64 block_size = 1ul << m_block_shift;
    u64 at = (byte_offset + block_size - 1) & ~(block_size - 1); // whole blocks only
    const u64 end = (byte_offset + length) & ~(block_size - 1);
    while (at < end) {
        const u64 index = at >> PAGE_SHIFT;
        const u32 offset = at & (PAGE_SIZE - 1);
        const u32 span = static_cast<u32>(min<u64>(PAGE_SIZE - offset, end - at));
        if (Page* page = find_get_page(index)) {
            lock_page(*page);
            const u16 mask = blocks_mask(m_block_shift, offset, span);
            const u16 left = page->dirty_blocks.fetch_and(static_cast<u16>(~mask), MemoryOrder::AcqRel) & static_cast<u16>(~mask);
            // Nothing dirty left: the page is clean (unless being written,
            // where the completion finds it clean anyway).
            if (left == 0 && page->mapping == this && page_test_and_clear(*page, PAGE_DIRTY)) {
                m_tree.with([&](RadixTree& tree) {
                    tree.clear_tag(page->index, RadixTree::TAG_DIRTY);
                    tree.clear_tag(page->index, RadixTree::TAG_TOWRITE);
                });
                counter::add(counter::DIRTY, -1);
                if (m_writeback)
                    m_writeback->account_dirty(-1);
            }
            unlock_page(*page);
            put_page(*page);
        }
        at += span;
    }
}

namespace {

class MemoryOnlyOperations final : public MappingOperations {
public:
    Result<BlockMapping> map_blocks(Mapping&, u64, u64 max_blocks, bool) override
    {
        BlockMapping hole;
        hole.blocks = max<u64>(max_blocks, 1);
        return hole;
    }
    bool has_backing_store() const override { return false; }
};

MemoryOnlyOperations g_memory_only_operations;

} // namespace

MappingOperations& memory_only_operations() { return g_memory_only_operations; }


void Mapping::release()
{
    // Drop everything; pages under I/O are waited for.
    for (;;) {
        Page* pages[PageBatch::CAPACITY];
        const usize n = gang_lookup(0, ~0ul, RadixTree::TAG_COUNT, pages, PageBatch::CAPACITY);
        if (n == 0)
            break;
        for (usize i = 0; i < n; i++) {
            Page& page = *pages[i];
            lock_page(page);
            wait_on_page_writeback(page);
            if (page.mapping == this)
                remove_page(page, true);
            unlock_page(page);
            put_page(page);
        }
    }
    if (m_writeback)
        m_writeback->detach(*this);
}

} // namespace pagecache

namespace pagecache {

void Mapping::direct_io_begin() { m_direct_io_in_flight.fetch_add(1, MemoryOrder::SeqCst); }

void Mapping::direct_io_end()
{
    if (m_direct_io_in_flight.sub_fetch(1, MemoryOrder::AcqRel) == 0)
        m_direct_io_drained.wake_all();
}

void Mapping::wait_for_direct_io()
{
    // The caller has just published a smaller size. Either a direct I/O that
    // begins from now on sees it (its begin is a locked RMW, then it reads
    // the size), or this load sees that I/O counted and waits for it: the
    // fence orders the size store before the count load (Dekker's pattern).
    atomic_thread_fence(MemoryOrder::SeqCst);
    if (m_direct_io_in_flight.load(MemoryOrder::SeqCst) == 0)
        return;
    counter::add(counter::DIRECT_IO_DRAIN_WAITS, 1);
    wait_event(m_direct_io_drained, [&] { return m_direct_io_in_flight.load(MemoryOrder::Acquire) == 0; });
}

} // namespace pagecache
