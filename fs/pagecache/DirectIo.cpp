#include "fs/pagecache/DirectIo.h"

#include "fs/pagecache/PageCache.h"
#include "fs/pagecache/PageIo.h"
#include "fs/pagecache/PageWait.h"
#include "kernel/lib/Atomic.h"
#include "kernel/mm/Heap.h"
#include "fs/pagecache/Writeback.h"
#include "kernel/block/BlkMq.h"
#include "kernel/block/BlockDevice.h"
#include "kernel/lib/String.h"
#include "kernel/mm/PageAllocator.h"
#include "kernel/debug/Panic.h"
#include "kernel/sync/Completion.h"

namespace pagecache {
namespace {

// A direct write completed: cached pages of the range that nobody is
// working on lose UPTODATE, so their next reader fetches the new data
// (interrupt context: no sleeping, no freeing of pages others may hold).
void mark_range_stale(Mapping& space, u64 first_byte, u64 last_byte)
{
    u64 index = first_byte >> PAGE_SHIFT;
    const u64 last = last_byte >> PAGE_SHIFT;
    while (index <= last) {
        Page* pages[PageBatch::CAPACITY];
        const usize found = space.gang_lookup(index, last, RadixTree::TAG_COUNT, pages, PageBatch::CAPACITY);
        if (found == 0)
            return;
        for (usize i = 0; i < found; i++) {
            Page& page = *pages[i];
            index = page.index + 1;
            if (trylock_page(page)) {
                if (!page_test(page, PAGE_DIRTY | PAGE_WRITEBACK))
                    page_clear(page, PAGE_UPTODATE);
                unlock_page(page);
            }
            put_page(page);
        }
        if (index == 0)
            return;
    }
}

// One direct I/O in flight: its bios count down `pending` (plus the
// submitter's bias); the last one finishes the request and frees it.
struct DirectRequest {
    Atomic<u32> pending{1};
    Atomic<int> error{0};
    usize result = 0;
    Mapping* space = nullptr;
    bool write = false;
    u64 pos = 0;
    u64 last_byte = 0;
    u64 end_byte = 0; // pos + length: the size a write grows the file to
    DirectIoDone done = nullptr;
    void* context = nullptr;

    void put(int status)
    {
        if (status)
            error.store(status, MemoryOrder::Relaxed);
        if (pending.sub_fetch(1, MemoryOrder::AcqRel) == 0)
            finish();
    }

    void finish()
    {
        const int status = error.load(MemoryOrder::Relaxed);
        if (write && !status) {
            mark_range_stale(*space, pos, last_byte);
            space->extend_size_to(end_byte);
        }
        // The last touch of the space: a truncation waiting for it may free
        // blocks from now on (the caller's open file keeps the space alive).
        space->direct_io_end();
        DirectIoDone callback = done;
        void* callback_context = context;
        const i64 outcome = status ? -static_cast<i64>(status) : static_cast<i64>(result);
        kfree(this);
        callback(callback_context, outcome);
    }
};

void direct_end_io(block::Bio& b)
{
    auto* bio = static_cast<PageBio*>(b.private_data);
    auto* request = static_cast<DirectRequest*>(bio->owner);
    const int status = b.status;
    free_page_bio(bio);
    request->put(status);
}

class DirectBuilder {
public:
    DirectBuilder(Mapping& space, block::BioOp op, DirectRequest& request)
        : m_space(space), m_op(op), m_request(request)
    {
    }
    ~DirectBuilder() { submit(); }

    // The next `length` bytes of `buffer` (kernel memory or pages) go
    // to/from `sector`; advances `buffer`.
    void add(mm::IoIter& buffer, u64 length, u64 sector)
    {
        while (length) {
            Page* page = nullptr;
            u32 offset = 0;
            const u32 in_page = buffer.current_page_piece(length, page, offset);
            ASSERT(in_page > 0);
            if (m_bio && (sector != m_next_sector || m_bio->count == PageBio::MAX_VECS))
                submit();
            if (!m_bio) {
                m_bio = alloc_page_bio();
                m_bio->space = &m_space;
                m_bio->owner = &m_request;
                m_bio->count = 0;
                m_start_sector = sector;
            }
            m_bio->vecs[m_bio->count++] = block::BioVec {page, offset, in_page};
            m_next_sector = sector + (in_page >> block::SECTOR_SHIFT);
            sector = m_next_sector;
            buffer.advance(in_page);
            length -= in_page;
        }
    }

    void submit()
    {
        PageBio* bio = m_bio;
        if (!bio)
            return;
        m_bio = nullptr;
        block::Bio& b = bio->bio;
        block::bio_init(b, m_op, m_start_sector, bio->vecs, bio->count);
        b.device = m_space.device();
        b.flags = block::BIO_SYNC;
        b.end_io = direct_end_io;
        b.private_data = bio;
        m_request.pending.fetch_add(1, MemoryOrder::AcqRel);
        block::submit_bio(b);
    }

private:
    Mapping& m_space;
    block::BioOp m_op;
    DirectRequest& m_request;
    PageBio* m_bio = nullptr;
    u64 m_start_sector = 0;
    u64 m_next_sector = 0;
};

} // namespace

Result<void> submit_direct_io(Mapping& space, block::BioOp op, u64 pos, mm::IoIter& buffer, DirectIoDone done,
                              void* context)
{
    if (!space.device() || !space.has_backing_store())
        return Error::from_errno(EINVAL);
    // Bios need pages: user memory must be pinned first (an IoIter of pages).
    if (buffer.is_user())
        return Error::from_errno(EINVAL);
    if (!direct_io_aligned(space, pos, buffer))
        return Error::from_errno(EINVAL);
    // Counted before the size is read: a truncation either waits for this
    // I/O or has already lowered the size it sees.
    space.direct_io_begin();
    struct EndUnlessSubmitted {
        Mapping& space;
        bool submitted = false;
        ~EndUnlessSubmitted()
        {
            if (!submitted)
                space.direct_io_end();
        }
    } counted{space};
    const usize length = buffer.count();
    const bool write = op == block::BioOp::Write;
    const u32 lbs = space.device()->limits().logical_block_size;
    usize result = length;
    u64 io_length = length;
    if (!write) {
        const u64 size = space.size_bytes();
        result = pos >= size ? 0 : min<u64>(length, size - pos);
        io_length = min<u64>(length, (result + lbs - 1) & ~u64(lbs - 1));
    }
    if (io_length == 0) {
        done(context, 0);
        return {};
    }
    const u64 last_byte = pos + io_length - 1;
    TRY(write_and_wait_range(space, pos, last_byte));
    if (write)
        invalidate_range(space, pos, last_byte);

    auto* request = new DirectRequest();
    if (!request)
        return Error::from_errno(ENOMEM);
    request->result = result;
    request->space = &space;
    request->write = write;
    request->pos = pos;
    request->last_byte = last_byte;
    request->end_byte = pos + length;
    request->done = done;
    request->context = context;
    counted.submitted = true; // the request's completion ends the count
    {
        DirectBuilder builder(space, op, *request);
        const u32 shift = space.block_shift();
        const u32 block_size = 1u << shift;
        u64 offset = 0;
        while (offset < io_length) {
            const u64 file_byte = pos + offset;
            const u64 block = file_byte >> shift;
            const u32 in_block = file_byte & (block_size - 1);
            const u64 blocks_left = (in_block + (io_length - offset) + block_size - 1) >> shift;
            auto mapping = space.ops().map_blocks(space, block, blocks_left, write);
            if (mapping.is_error()) {
                request->error.store(mapping.error().code(), MemoryOrder::Relaxed);
                break;
            }
            const BlockMapping m = mapping.value();
            const u64 extent_bytes = min<u64>((max<u64>(m.blocks, 1) << shift) - in_block, io_length - offset);
            if (m.is_hole()) {
                if (write) {
                    request->error.store(EIO, MemoryOrder::Relaxed); // map_blocks(create) must not leave a hole
                    break;
                }
                buffer.zero(extent_bytes);
            } else {
                builder.add(buffer, extent_bytes, m.sector + (in_block >> block::SECTOR_SHIFT));
            }
            offset += extent_bytes;
        }
    } // the builder submits its last bio here
    request->put(0); // the submitter's bias: may finish (and free) the request now
    return {};
}

namespace {

struct SyncWait {
    Completion done;
    i64 result = 0;
};

void sync_done(void* context, i64 result)
{
    auto* wait = static_cast<SyncWait*>(context);
    wait->result = result;
    wait->done.complete();
}

// Kernel memory or pages: one asynchronous request, waited for. Leaves
// `buffer` advanced by exactly the bytes transferred.
Result<usize> direct_io_pages(Mapping& space, block::BioOp op, u64 pos, mm::IoIter& buffer)
{
    const usize before = buffer.count();
    SyncWait wait;
    TRY(submit_direct_io(space, op, pos, buffer, sync_done, &wait));
    wait.done.wait();
    const usize consumed = before - buffer.count();
    if (wait.result < 0) {
        buffer.revert(consumed);
        return Error::from_errno(static_cast<int>(-wait.result));
    }
    const usize transferred = static_cast<usize>(wait.result);
    if (consumed > transferred)
        buffer.revert(consumed - transferred); // a read that ended at EOF inside its last block
    if (op == block::BioOp::Write && transferred)
        invalidate_range(space, pos, pos + transferred - 1); // drop what went stale, in thread context
    return transferred;
}

// User memory: through a kernel bounce buffer, BOUNCE_BYTES at a time, until
// user pages can be pinned for the bios. A fault part-way gives the short
// count (whole logical blocks), EFAULT if nothing moved.
constexpr unsigned BOUNCE_ORDER = 4;
constexpr usize BOUNCE_BYTES = PAGE_SIZE << BOUNCE_ORDER;

Result<usize> direct_io_bounced(Mapping& space, block::BioOp op, u64 pos, mm::IoIter& buffer)
{
    Page* bounce_pages = mm::alloc_pages(BOUNCE_ORDER);
    if (!bounce_pages)
        return Error::from_errno(ENOMEM);
    u8* bounce = static_cast<u8*>(mm::page_address(bounce_pages));
    const u64 lbs_mask = space.device()->limits().logical_block_size - 1;
    usize done = 0;
    int error = 0;
    while (buffer.count()) {
        const usize n = min(buffer.count(), BOUNCE_BYTES);
        if (op == block::BioOp::Write) {
            const usize copied = buffer.copy_from(bounce, n);
            const usize usable = copied & ~lbs_mask;
            buffer.revert(copied - usable);
            if (usable == 0) {
                error = EFAULT;
                break;
            }
            mm::IoIter chunk = mm::IoIter::kernel(bounce, usable);
            auto written = direct_io_pages(space, op, pos + done, chunk);
            if (written.is_error()) {
                buffer.revert(usable);
                error = written.error().code();
                break;
            }
            done += written.value();
            if (written.value() < usable) {
                buffer.revert(usable - written.value());
                break;
            }
            if (copied < n)
                break; // the fault ends the write
        } else {
            mm::IoIter chunk = mm::IoIter::kernel(bounce, n);
            auto read = direct_io_pages(space, op, pos + done, chunk);
            if (read.is_error()) {
                error = read.error().code();
                break;
            }
            const usize copied = buffer.copy_to(bounce, read.value());
            done += copied;
            if (copied < read.value()) {
                error = EFAULT;
                break;
            }
            if (read.value() < n)
                break; // end of file
        }
    }
    mm::free_pages(bounce_pages, BOUNCE_ORDER);
    if (done == 0 && error)
        return Error::from_errno(error);
    return done;
}

} // namespace

bool direct_io_aligned(const Mapping& space, u64 pos, const mm::IoIter& buffer)
{
    if (!space.device())
        return false;
    const u64 mask = space.device()->limits().logical_block_size - 1;
    return ((pos | buffer.count() | buffer.alignment()) & mask) == 0;
}

Result<usize> direct_read(Mapping& space, u64 pos, mm::IoIter& buffer)
{
    if (buffer.is_user()) {
        if (!direct_io_aligned(space, pos, buffer))
            return Error::from_errno(EINVAL);
        return direct_io_bounced(space, block::BioOp::Read, pos, buffer);
    }
    return direct_io_pages(space, block::BioOp::Read, pos, buffer);
}

Result<usize> direct_write(Mapping& space, u64 pos, mm::IoIter& buffer)
{
    if (buffer.is_user()) {
        if (!direct_io_aligned(space, pos, buffer))
            return Error::from_errno(EINVAL);
        return direct_io_bounced(space, block::BioOp::Write, pos, buffer);
    }
    return direct_io_pages(space, block::BioOp::Write, pos, buffer);
}

} // namespace pagecache
