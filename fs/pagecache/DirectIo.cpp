#include "fs/pagecache/DirectIo.h"

#include "fs/pagecache/PageCache.h"
#include "fs/pagecache/PageIo.h"
#include "fs/pagecache/Writeback.h"
#include "kernel/block/BlkMq.h"
#include "kernel/block/BlockDevice.h"
#include "kernel/lib/String.h"
#include "kernel/mm/PageAllocator.h"
#include "kernel/sync/Completion.h"

namespace pagecache {
namespace {

// One direct I/O in flight: its bios count down `pending` (plus the
// submitter's bias) and the last one completes `done`.
struct DirectRequest {
    u32 pending = 1;
    int error = 0;
    Completion done;

    void put(int status)
    {
        if (status)
            __atomic_store_n(&error, status, __ATOMIC_RELAXED);
        if (__atomic_sub_fetch(&pending, 1, __ATOMIC_ACQ_REL) == 0)
            done.complete();
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
    DirectBuilder(AddressSpace& space, block::BioOp op, DirectRequest& request)
        : m_space(space), m_op(op), m_request(request)
    {
    }
    ~DirectBuilder() { submit(); }

    // `length` bytes of kernel memory at `memory` go to/from `sector`.
    void add(u8* memory, u64 length, u64 sector)
    {
        while (length) {
            const uptr address = reinterpret_cast<uptr>(memory);
            const u32 in_page = static_cast<u32>(min<u64>(PAGE_SIZE - (address & (PAGE_SIZE - 1)), length));
            if (m_bio && (sector != m_next_sector || m_bio->count == PageBio::MAX_VECS))
                submit();
            if (!m_bio) {
                m_bio = alloc_page_bio();
                m_bio->space = &m_space;
                m_bio->owner = &m_request;
                m_bio->count = 0;
                m_start_sector = sector;
            }
            Page* page = mm::virt_to_page(memory);
            m_bio->vecs[m_bio->count++] = block::BioVec {page, static_cast<u32>(address & (PAGE_SIZE - 1)), in_page};
            m_next_sector = sector + (in_page >> block::SECTOR_SHIFT);
            sector = m_next_sector;
            memory += in_page;
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
        __atomic_fetch_add(&m_request.pending, 1, __ATOMIC_ACQ_REL);
        block::submit_bio(b);
    }

private:
    AddressSpace& m_space;
    block::BioOp m_op;
    DirectRequest& m_request;
    PageBio* m_bio = nullptr;
    u64 m_start_sector = 0;
    u64 m_next_sector = 0;
};

Result<usize> direct_io(AddressSpace& space, block::BioOp op, u64 pos, u8* buffer, usize length)
{
    if (!space.device() || !space.has_backing_store())
        return Error::from_errno(EINVAL);
    if (!direct_io_aligned(space, pos, buffer, length))
        return Error::from_errno(EINVAL);
    if (length == 0)
        return 0;
    const bool write = op == block::BioOp::Write;
    const u32 lbs = space.device()->limits().logical_block_size;
    usize result = length;
    u64 io_length = length;
    if (!write) {
        const u64 size = space.size_bytes();
        if (pos >= size)
            return 0;
        result = min<u64>(length, size - pos);
        io_length = min<u64>(length, (result + lbs - 1) & ~u64(lbs - 1));
    }
    const u64 last_byte = pos + io_length - 1;
    TRY(write_and_wait_range(space, pos, last_byte));
    if (write)
        invalidate_range(space, pos, last_byte);

    DirectRequest request;
    int failure = 0;
    {
        DirectBuilder builder(space, op, request);
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
                failure = mapping.error().code();
                break;
            }
            const BlockMapping m = mapping.value();
            const u64 extent_bytes = min<u64>((max<u64>(m.blocks, 1) << shift) - in_block, io_length - offset);
            if (m.is_hole()) {
                if (write) {
                    failure = EIO; // map_blocks(create) must not leave a hole
                    break;
                }
                memset(buffer + offset, 0, extent_bytes);
            } else {
                builder.add(buffer + offset, extent_bytes, m.sector + (in_block >> block::SECTOR_SHIFT));
            }
            offset += extent_bytes;
        }
    } // the builder submits its last bio here
    request.put(0);
    request.done.wait();
    if (failure)
        return Error::from_errno(failure);
    if (write) {
        // Pages a buffered reader brought in meanwhile hold the old data.
        invalidate_range(space, pos, last_byte);
        if (pos + length > space.size_bytes())
            space.set_size_bytes(pos + length);
    }
    if (request.error)
        return Error::from_errno(request.error);
    return result;
}

} // namespace

bool direct_io_aligned(const AddressSpace& space, u64 pos, const void* buffer, usize length)
{
    if (!space.device())
        return false;
    const u64 mask = space.device()->limits().logical_block_size - 1;
    return ((pos | length | reinterpret_cast<uptr>(buffer)) & mask) == 0;
}

Result<usize> direct_read(AddressSpace& space, u64 pos, void* buffer, usize length)
{
    return direct_io(space, block::BioOp::Read, pos, static_cast<u8*>(buffer), length);
}

Result<usize> direct_write(AddressSpace& space, u64 pos, const void* buffer, usize length)
{
    return direct_io(space, block::BioOp::Write, pos, static_cast<u8*>(const_cast<void*>(buffer)), length);
}

} // namespace pagecache
