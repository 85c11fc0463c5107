// READ, WRITE, READV, WRITEV, READ_FIXED, WRITE_FIXED.
//
// prep imports the memory in the submitter's context: the iovec array is
// copied, and the user pages are pinned (or, for *_FIXED, the registered
// buffer's pinned pages are cut to the asked range), so every later step —
// a bio, a worker, a retry after a page wait — works on pages and never on
// user addresses. Import errors are kept for the CQE (Linux reports them
// there, not as a failed submission).
//
// issue picks the path by the kind of file:
//   O_DIRECT on a device-backed file, block devices opened O_DIRECT:
//       bios straight on the pinned pages (pagecache::submit_direct_io); the
//       bio completion completes the request from the interrupt.
//   buffered read: the page cache without waiting (READ_NOWAIT); a page
//       that is not up to date parks the request on the page's wait queue
//       (pagecache::wait_on_page_locked_async) and a worker resumes it when
//       the read of the page has finished: no thread sleeps meanwhile.
//   buffered write, a write that extends an O_DIRECT file, reads of streams
//   (ttys) and the file position (offset -1): on a worker.
#include "fs/pagecache/DirectIo.h"
#include "fs/pagecache/PageCache.h"
#include "fs/pagecache/PageState.h"
#include "fs/pagecache/PageWait.h"
#include "arch/x86_64/mm/UserCopy.h"
#include "fs/vfs/FileApi.h"
#include "kernel/io_uring/ops/Ops.h"
#include "kernel/mm/AddressSpace.h"
#include "kernel/mm/Heap.h"
#include "kernel/proc/Current.h"
#include "kernel/proc/Process.h"
#include "uapi/rwf.h"

namespace io_uring::ops {
namespace {

constexpr u32 UIO_MAXIOV = 1024;
constexpr u64 MAX_RW_COUNT = 0x7ffff000; // INT_MAX rounded down to a page
constexpr u64 CURRENT_POSITION = ~0ull;

bool is_write(u8 opcode)
{
    return opcode == IORING_OP_WRITE || opcode == IORING_OP_WRITEV || opcode == IORING_OP_WRITE_FIXED;
}
bool is_vector(u8 opcode) { return opcode == IORING_OP_READV || opcode == IORING_OP_WRITEV; }
bool is_fixed(u8 opcode) { return opcode == IORING_OP_READ_FIXED || opcode == IORING_OP_WRITE_FIXED; }

struct UserIovec {
    u64 base;
    u64 length;
};

// The iovec array of READV/WRITEV, copied; its lengths summed (Linux's
// import_iovec: EINVAL beyond UIO_MAXIOV or for a sum past ssize_t, the
// total capped at MAX_RW_COUNT).
int import_iovec(RwState& rw, u64 user_address, u32 count)
{
    if (count > UIO_MAXIOV)
        return EINVAL;
    if (count == 0)
        return 0;
    auto* user = static_cast<UserIovec*>(kmalloc(count * sizeof(UserIovec)));
    rw.iov = static_cast<mm::IoSegment*>(kmalloc(count * sizeof(mm::IoSegment)));
    if (!user || !rw.iov) {
        kfree(user);
        return ENOMEM;
    }
    if (user::copy_from_user(user, reinterpret_cast<const void*>(user_address), count * sizeof(UserIovec)).is_error()) {
        kfree(user);
        return EFAULT;
    }
    u64 total = 0;
    for (u32 i = 0; i < count; i++) {
        if (static_cast<i64>(user[i].length) < 0 || user[i].length > (~0ull >> 1) - total) {
            kfree(user);
            return EINVAL;
        }
        u64 length = min(user[i].length, MAX_RW_COUNT - min(total, MAX_RW_COUNT));
        rw.iov[i] = { reinterpret_cast<void*>(user[i].base), static_cast<usize>(length) };
        total += length;
    }
    kfree(user);
    rw.iov_count = count;
    rw.total = min(total, MAX_RW_COUNT);
    return 0;
}

// Pin every page under the segments and cut them into page pieces.
int pin_segments(RwState& rw, const mm::IoSegment* segments, u32 count, bool device_writes)
{
    usize page_total = 0;
    for (u32 i = 0; i < count; i++) {
        if (!segments[i].length)
            continue;
        const uptr start = reinterpret_cast<uptr>(segments[i].base);
        if (!user::access_ok(start, segments[i].length))
            return EFAULT;
        page_total += (align_up(start + segments[i].length, uptr(PAGE_SIZE)) - align_down(start, uptr(PAGE_SIZE))) >> PAGE_SHIFT;
    }
    if (page_total == 0)
        return 0;
    rw.pinned = static_cast<Page**>(kmalloc(page_total * sizeof(Page*)));
    rw.pieces = static_cast<mm::PageSegment*>(kmalloc(page_total * sizeof(mm::PageSegment)));
    if (!rw.pinned || !rw.pieces)
        return ENOMEM;
    mm::AddressSpace* space = proc::current_process()->address_space;
    for (u32 i = 0; i < count; i++) {
        if (!segments[i].length)
            continue;
        const uptr start = reinterpret_cast<uptr>(segments[i].base);
        const uptr first = align_down(start, uptr(PAGE_SIZE));
        const usize pages = (align_up(start + segments[i].length, uptr(PAGE_SIZE)) - first) >> PAGE_SHIFT;
        if (space->pin_user_pages(first, pages, device_writes, rw.pinned + rw.pinned_count).is_error())
            return EFAULT;
        uptr at = start;
        usize left = segments[i].length;
        for (usize p = 0; p < pages; p++) {
            const u32 offset = at & (PAGE_SIZE - 1);
            const u32 length = static_cast<u32>(min<usize>(PAGE_SIZE - offset, left));
            rw.pieces[rw.piece_count++] = { rw.pinned[rw.pinned_count + p], offset, length };
            at += length;
            left -= length;
        }
        rw.pinned_count += pages;
    }
    return 0;
}

// READ_FIXED / WRITE_FIXED: [address, address + length) must lie inside the
// registered buffer (Linux's io_import_fixed: EFAULT otherwise).
int import_fixed(RwState& rw, const RegisteredBuffer& buffer, u64 address, u64 length)
{
    if (address < buffer.address || address + length < address || address + length > buffer.address + buffer.length)
        return EFAULT;
    if (length == 0)
        return 0;
    const u64 first_page = align_down(buffer.address, u64(PAGE_SIZE));
    usize index = (address - first_page) >> PAGE_SHIFT;
    const usize pages = (align_up(address + length, u64(PAGE_SIZE)) - align_down(address, u64(PAGE_SIZE))) >> PAGE_SHIFT;
    rw.pieces = static_cast<mm::PageSegment*>(kmalloc(pages * sizeof(mm::PageSegment)));
    if (!rw.pieces)
        return ENOMEM;
    u64 at = address;
    u64 left = length;
    while (left) {
        const u32 offset = at & (PAGE_SIZE - 1);
        const u32 piece = static_cast<u32>(min<u64>(PAGE_SIZE - offset, left));
        rw.pieces[rw.piece_count++] = { buffer.pages[index++], offset, piece };
        at += piece;
        left -= piece;
    }
    rw.pinned = buffer.pages; // the ring's pins
    return 0;
}

mm::IoIter iter_of(const RwState& rw)
{
    mm::IoIter iter = mm::IoIter::pages(rw.pieces, rw.piece_count, rw.total);
    iter.advance(rw.done);
    return iter;
}

IssueResult finish(Request& request, Result<usize> moved)
{
    if (moved.is_error())
        request.result = request.rw.done ? static_cast<i32>(request.rw.done) : -moved.error().code();
    else
        request.result = static_cast<i32>(request.rw.done + moved.value());
    return IssueResult::Complete;
}

void direct_done(void* context, i64 result)
{
    auto& request = *static_cast<Request*>(context);
    request.ring->complete(request, static_cast<i32>(result));
}

void page_ready(pagecache::AsyncPageWaiter& waiter)
{
    auto& request = *static_cast<Request*>(waiter.context);
    request.state = RequestState::Queued;
    request.ring->work_queue().queue(request);
}

// A buffered read: copy what the cache has; at the first page that is not up
// to date (its readahead is started by the read itself), park on the page.
IssueResult buffered_read(Request& request, u32 issue_flags)
{
    RwState& rw = request.rw;
    vfs::File& file = *request.file;
    pagecache::Mapping* mapping = file.inode->mapping;
    for (;;) {
        if (rw.done == rw.total)
            return finish(request, usize(0));
        mm::IoIter iter = iter_of(rw);
        const u64 position = rw.offset + rw.done;
        auto got = vfs::pread(file, iter, position, pagecache::READ_NOWAIT);
        if (!got.is_error()) {
            if (got.value() == 0)
                return finish(request, usize(0)); // end of file
            rw.done += got.value();
            continue;
        }
        if (got.error().code() != EAGAIN || !mapping)
            return finish(request, got.error());
        Page* page = mapping->find_get_page(position >> PAGE_SHIFT);
        if (!page) {
            // Readahead could not even start (no memory): block on a worker.
            if (issue_flags & ISSUE_NONBLOCK)
                return IssueResult::Punt;
            mm::IoIter rest = iter_of(rw);
            auto blocking = vfs::pread(file, rest, position);
            return finish(request, kstd::move(blocking));
        }
        auto* wait = new (nothrow) ParkedWait(page_ready, &request);
        if (!wait) {
            pagecache::put_page(*page);
            return finish(request, Error::from_errno(ENOMEM));
        }
        wait->next = rw.waits;
        rw.waits = wait;
        request.state = RequestState::Parked;
        // The waiter keeps the page referenced; release drops it.
        if (pagecache::wait_on_page_locked_async(*page, wait->waiter))
            return IssueResult::Async; // the request may already be running elsewhere
        request.state = RequestState::Prepared; // unlocked meanwhile: go again now
    }
}

} // namespace

Result<void> rw_prep(Request& request, const uapi::io_uring_sqe& sqe)
{
    RwState& rw = request.rw;
    rw.offset = sqe.off;
    rw.rw_flags = sqe.rw_flags;
    request.buf_index = sqe.buf_index;
    const u8 opcode = request.opcode;
    const RegisteredBuffer* buffer = nullptr;
    if (is_fixed(opcode))
        buffer = TRY(request.ring->registered_buffer(sqe.buf_index));
    int error = 0;
    if (is_vector(opcode)) {
        error = import_iovec(rw, sqe.addr, sqe.len);
        if (!error)
            error = pin_segments(rw, rw.iov, rw.iov_count, !is_write(opcode));
    } else {
        rw.total = min<u64>(sqe.len, MAX_RW_COUNT);
        rw.single = { reinterpret_cast<void*>(sqe.addr), rw.total };
        if (buffer) {
            request.flags |= REQ_FIXED_BUFFER;
            error = import_fixed(rw, *buffer, sqe.addr, rw.total);
        } else {
            error = pin_segments(rw, &rw.single, 1, !is_write(opcode));
        }
    }
    rw.import_error = error;
    request.expected = static_cast<i64>(rw.total);
    return {};
}

IssueResult rw_issue(Request& request, u32 issue_flags)
{
    RwState& rw = request.rw;
    if (rw.import_error)
        return finish(request, Error::from_errno(rw.import_error));
    vfs::File& file = *request.file;
    vfs::Inode& inode = *file.inode;
    const bool write = is_write(request.opcode);
    const u32 mode = file.flags & O_ACCMODE;
    if ((file.flags & O_PATH) || mode == (write ? O_RDONLY : O_WRONLY))
        return finish(request, Error::from_errno(EBADF));
    if (inode.is_directory())
        return finish(request, Error::from_errno(EISDIR));
    // RWF_HIPRI needs IORING_SETUP_IOPOLL (Linux: EINVAL); the other
    // per-I/O flags are not implemented.
    if (rw.rw_flags)
        return finish(request, Error::from_errno(rw.rw_flags == RWF_HIPRI ? EINVAL : EOPNOTSUPP));
    if (rw.total == 0)
        return finish(request, usize(0));

    const bool seekable = inode.is_regular() || inode.is_block_device();
    if (!seekable || rw.offset == CURRENT_POSITION) {
        // Streams ignore the offset; -1 is the file position
        // (IORING_FEAT_RW_CUR_POS). Both may block: a worker does them.
        if (issue_flags & ISSUE_NONBLOCK)
            return IssueResult::Punt;
        mm::IoIter iter = iter_of(rw);
        return finish(request, write ? vfs::write(file, iter) : vfs::read(file, iter));
    }
    if (static_cast<i64>(rw.offset) < 0)
        return finish(request, Error::from_errno(EINVAL));

    pagecache::Mapping* mapping = inode.mapping;
    const bool direct = (file.flags & O_DIRECT) && mapping && mapping->has_backing_store() && mapping->device();
    if (direct && !(write && rw.offset + rw.total > mapping->size_bytes())) {
        mm::IoIter iter = iter_of(rw);
        request.state = RequestState::InFlight;
        auto submitted = pagecache::submit_direct_io(*mapping, write ? block::BioOp::Write : block::BioOp::Read,
                                                     rw.offset, iter, direct_done, &request);
        if (submitted.is_error()) {
            request.state = RequestState::Prepared;
            return finish(request, submitted.error());
        }
        return IssueResult::Async; // direct_done completes it (perhaps already has)
    }
    if (!write)
        return buffered_read(request, issue_flags);
    // Buffered writes (and direct writes past the end, which change the size)
    // may block on block allocation, read-modify-write and dirty throttling.
    if (issue_flags & ISSUE_NONBLOCK)
        return IssueResult::Punt;
    mm::IoIter iter = iter_of(rw);
    return finish(request, vfs::pwrite(file, iter, rw.offset));
}

} // namespace io_uring::ops
