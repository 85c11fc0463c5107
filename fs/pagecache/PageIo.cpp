#include "fs/pagecache/PageIo.h"

#include "fs/pagecache/Counters.h"
#include "fs/pagecache/PageWait.h"
#include "kernel/block/BlkMq.h"
#include "kernel/block/BlockDevice.h"
#include "kernel/debug/Panic.h"
#include "kernel/lib/Atomic.h"
#include "kernel/lib/String.h"
#include "kernel/mm/Heap.h"
#include "kernel/mm/PageAllocator.h"
#include "kernel/sync/WaitQueue.h"

namespace pagecache {
namespace {

// Enough bios for writeback to keep a device busy when kmalloc fails.
constexpr usize RESERVE_BIOS = 16;

struct Reserve {
    PageBio* free[RESERVE_BIOS] = {};
    usize count = 0;
};
Guarded<Reserve> g_reserve{LockRank::Generic, "pagecache bio reserve"};
WaitQueue g_reserve_wait;

PageBio* take_reserve()
{
    return g_reserve.with([](Reserve& reserve) -> PageBio* {
        return reserve.count ? reserve.free[--reserve.count] : nullptr;
    });
}

void page_bio_end_io(block::Bio& bio);

} // namespace

void init_page_io()
{
    for (usize i = 0; i < RESERVE_BIOS; i++) {
        auto* bio = static_cast<PageBio*>(kmalloc(PageBio::BYTES));
        if (!bio)
            panic("pagecache: no memory for the bio reserve");
        bio->from_reserve = true;
        g_reserve.with([&](Reserve& reserve) { reserve.free[reserve.count++] = bio; });
    }
}

PageBio* alloc_page_bio()
{
    auto* bio = static_cast<PageBio*>(kmalloc(PageBio::BYTES));
    if (bio) {
        bio->from_reserve = false;
        return bio;
    }
    PageBio* reserved = nullptr;
    wait_event(g_reserve_wait, [&] { return (reserved = take_reserve()) != nullptr; });
    return reserved;
}

void free_page_bio(PageBio* bio)
{
    if (!bio->from_reserve) {
        kfree(bio);
        return;
    }
    g_reserve.with([&](Reserve& reserve) { reserve.free[reserve.count++] = bio; });
    g_reserve_wait.wake_all();
}

// --- page completion ----------------------------------------------------------

void end_page_read(Page& page, int error)
{
    if (error) {
        page_set(page, PAGE_ERROR);
    } else {
        page_clear(page, PAGE_ERROR);
        page_set(page, PAGE_UPTODATE);
    }
    unlock_page(page);
}

void begin_pieces(Page& page, u32 pieces)
{
    page_clear(page, PAGE_ERROR);
    AtomicRef(*reinterpret_cast<uptr*>(&page.private_data)).store(uptr(pieces) + 1, MemoryOrder::Release);
}

void end_piece(Page& page, int error, bool write)
{
    if (error)
        page_set(page, PAGE_ERROR);
    if (AtomicRef(*reinterpret_cast<uptr*>(&page.private_data)).sub_fetch(1, MemoryOrder::AcqRel) != 0)
        return;
    const int status = page_test(page, PAGE_ERROR) ? EIO : 0;
    if (write)
        end_page_writeback(page, status);
    else
        end_page_read(page, status);
}

// --- building bios --------------------------------------------------------------

void BioBuilder::add(Page& page, u32 offset, u32 length, u64 sector)
{
    if (m_bio && (sector != m_next_sector || m_bio->count == PageBio::MAX_VECS))
        submit();
    if (!m_bio) {
        m_bio = alloc_page_bio();
        m_bio->space = &m_space;
        m_bio->count = 0;
        m_bio->bio.iter.sector = sector;
    }
    m_bio->vecs[m_bio->count++] = block::BioVec {&page, offset, length};
    m_next_sector = sector + (length >> block::SECTOR_SHIFT);
}

void BioBuilder::submit()
{
    PageBio* bio = m_bio;
    if (!bio)
        return;
    m_bio = nullptr;
    block::Bio& b = bio->bio;
    const u64 sector = b.iter.sector;
    block::bio_init(b, m_op, sector, bio->vecs, bio->count);
    b.device = m_space.device();
    b.flags = 0;
    b.end_io = page_bio_end_io;
    b.private_data = bio;
    if (m_op == block::BioOp::Write) {
        counter::add(counter::WRITE_BIOS, 1);
        counter::add(counter::PAGES_WRITTEN, bio->count);
    } else {
        counter::add(counter::READ_BIOS, 1);
        counter::add(counter::PAGES_READ, bio->count);
    }
    block::submit_bio(b);
}

namespace {

// Interrupt context: finish every page (or piece) of the bio, free it.
void page_bio_end_io(block::Bio& b)
{
    auto* bio = static_cast<PageBio*>(b.private_data);
    const bool write = b.op == block::BioOp::Write;
    const int error = b.status;
    for (u16 i = 0; i < bio->count; i++) {
        Page& page = *bio->vecs[i].page;
        if (bio->vecs[i].length != PAGE_SIZE)
            end_piece(page, error, write);
        else if (write)
            end_page_writeback(page, error);
        else
            end_page_read(page, error);
    }
    free_page_bio(bio);
}

// The blocks of one page, as the filesystem maps them. `run` caches the last
// answer of map_blocks so that a long contiguous extent costs one call.
struct MappingCursor {
    u64 first_block = 0; // block the cached answer starts at
    BlockMapping mapping;
    bool valid = false;

    Result<BlockMapping> lookup(Mapping& space, u64 block, u64 max_blocks, bool create)
    {
        if (valid && block >= first_block && block < first_block + mapping.blocks) {
            const u64 skip = block - first_block;
            BlockMapping answer;
            answer.blocks = mapping.blocks - skip;
            answer.sector = mapping.is_hole() ? BlockMapping::HOLE
                                              : mapping.sector + (skip << (space.block_shift() - block::SECTOR_SHIFT));
            // A cached hole may have been filled by create: ask again then.
            if (!(create && answer.is_hole()))
                return answer;
        }
        BlockMapping fresh = TRY(space.ops().map_blocks(space, block, max_blocks, create));
        if (fresh.blocks == 0)
            fresh.blocks = 1;
        first_block = block;
        mapping = fresh;
        valid = true;
        return fresh;
    }
};

u32 blocks_per_page(const Mapping& space) { return PAGE_SIZE >> space.block_shift(); }

} // namespace

void generic_read_pages(Mapping& space, PageBatch& pages)
{
    BioBuilder builder(space, block::BioOp::Read);
    MappingCursor cursor;
    const u32 per_page = blocks_per_page(space);
    const u32 shift = space.block_shift();
    const u64 file_blocks = (space.size_bytes() + space.block_size() - 1) >> shift;
    for (usize i = 0; i < pages.size(); i++) {
        Page& page = *pages[i];
        const u64 first_block = page.index * per_page;
        // Blocks the rest of the batch could cover, if contiguous.
        const u64 batch_blocks = (pages.last()->index - page.index + 1) * per_page;
        if (first_block >= file_blocks || !space.device()) {
            memset(mm::page_address(&page), 0, PAGE_SIZE);
            end_page_read(page, 0);
            continue;
        }
        auto first = cursor.lookup(space, first_block, batch_blocks, false);
        if (first.is_error()) {
            end_page_read(page, first.error().code());
            continue;
        }
        const BlockMapping m = first.value();
        if (m.blocks >= per_page && !m.is_hole()) {
            builder.add(page, 0, PAGE_SIZE, m.sector);
            continue;
        }
        if (m.blocks >= per_page && m.is_hole()) {
            memset(mm::page_address(&page), 0, PAGE_SIZE);
            end_page_read(page, 0);
            continue;
        }
        // Pieces: one block at a time; holes are zeroed here.
        u8* data = static_cast<u8*>(mm::page_address(&page));
        begin_pieces(page, per_page);
        for (u32 b = 0; b < per_page; b++) {
            auto piece = cursor.lookup(space, first_block + b, per_page - b, false);
            if (piece.is_error()) {
                end_piece(page, piece.error().code(), false);
                continue;
            }
            if (piece.value().is_hole() || first_block + b >= file_blocks) {
                memset(data + (b << shift), 0, 1u << shift);
                end_piece(page, 0, false);
                continue;
            }
            builder.add(page, b << shift, 1u << shift, piece.value().sector);
        }
        builder.submit(); // the bias below must not complete before the pieces are queued
        end_piece(page, 0, false);
    }
}

void generic_write_pages(Mapping& space, PageBatch& pages)
{
    BioBuilder builder(space, block::BioOp::Write);
    MappingCursor cursor;
    const u32 per_page = blocks_per_page(space);
    const u32 shift = space.block_shift();
    const u64 file_blocks = (space.size_bytes() + space.block_size() - 1) >> shift;
    for (usize i = 0; i < pages.size(); i++) {
        Page& page = *pages[i];
        const u64 first_block = page.index * per_page;
        if (first_block >= file_blocks || !space.device()) {
            // Truncated meanwhile: nothing of it belongs to the file any more.
            end_page_writeback(page, 0);
            continue;
        }
        const u64 batch_blocks = (pages.last()->index - page.index + 1) * per_page;
        const u64 blocks_here = min<u64>(per_page, file_blocks - first_block);
        // Blocks marked dirty one by one (set_page_dirty_range): only those.
        const u16 all = static_cast<u16>((1u << per_page) - 1);
        const u16 mask = page.writeback_blocks & all;
        if (mask != all) {
            u32 pieces = 0;
            for (u32 b = 0; b < blocks_here; b++)
                pieces += (mask >> b) & 1;
            begin_pieces(page, pieces);
            for (u32 b = 0; b < blocks_here; b++) {
                if (!((mask >> b) & 1))
                    continue;
                auto piece = cursor.lookup(space, first_block + b, 1, true);
                if (piece.is_error() || piece.value().is_hole()) {
                    end_piece(page, piece.is_error() ? piece.error().code() : EIO, true);
                    continue;
                }
                builder.add(page, b << shift, 1u << shift, piece.value().sector);
            }
            builder.submit();
            end_piece(page, 0, true);
            continue;
        }
        if (blocks_here == per_page) {
            auto first = cursor.lookup(space, first_block, batch_blocks, true);
            if (first.is_error()) {
                end_page_writeback(page, first.error().code());
                continue;
            }
            if (first.value().blocks >= per_page && !first.value().is_hole()) {
                builder.add(page, 0, PAGE_SIZE, first.value().sector);
                continue;
            }
        }
        begin_pieces(page, static_cast<u32>(blocks_here));
        for (u32 b = 0; b < blocks_here; b++) {
            auto piece = cursor.lookup(space, first_block + b, blocks_here - b, true);
            if (piece.is_error() || piece.value().is_hole()) {
                end_piece(page, piece.is_error() ? piece.error().code() : EIO, true);
                continue;
            }
            builder.add(page, b << shift, 1u << shift, piece.value().sector);
        }
        builder.submit();
        end_piece(page, 0, true);
    }
}

void MappingOperations::read_pages(Mapping& space, PageBatch& pages) { generic_read_pages(space, pages); }
void MappingOperations::write_pages(Mapping& space, PageBatch& pages) { generic_write_pages(space, pages); }

} // namespace pagecache
