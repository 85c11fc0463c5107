// Request: one SQE from the moment it is read off the SQ ring until its CQE
// is posted and its resources are released (Linux's struct io_kiocb).
//
// Lifecycle (`state`), with the owner and the list the request is on:
//
//   Prepared   the submitter (io_uring_enter) owns it; on no list. The SQE
//              was copied and checked by the opcode's prep().
//   Deferred   IOSQE_IO_DRAIN (or behind one): on Ring::m_deferred until every
//              request submitted before it has completed.
//   Queued     on the ring's WorkQueue: a worker will issue it (the operation
//              must block, IOSQE_ASYNC, or the retry of a parked read).
//   Parked     a buffered read waiting for a page: its AsyncPageWaiter is
//              armed on the page; the wake function queues it (-> Queued).
//   InFlight   issued to a device (O_DIRECT / block device bios); the bio
//              completion completes it, from the interrupt.
//   Completed  the CQE is posted (or skipped), or waits on the overflow list;
//              the request is on Ring::m_reap until a thread releases its file,
//              pinned pages and memory (none of which may happen in an
//              interrupt).
//
// Links: `link` is the next request of an IOSQE_IO_LINK / IO_HARDLINK chain;
// only the head is issued, each successor when its predecessor completes.
//
// Every request holds a reference on its file (dropped at release) and keeps
// its ring alive (Ring::m_requests_alive) until it is released.
#pragma once

#include "fs/pagecache/PageWait.h"
#include "kernel/lib/IntrusiveList.h"
#include "kernel/lib/Types.h"
#include "kernel/mm/IoIter.h"
#include "uapi/io_uring.h"

namespace vfs {
struct File;
}

namespace io_uring {

class Ring;

enum class RequestState : u8 { Prepared, Deferred, Queued, Parked, InFlight, Completed };

// Request::flags
enum RequestFlag : u32 {
    REQ_FIXED_BUFFER = 1u << 0,   // rw memory is a registered buffer (pages pinned by the ring)
    REQ_LINK_FAILED = 1u << 1,    // a predecessor (or this SQE's own init) failed: cancel
    REQ_CURRENT_POSITION = 1u << 2, // offset -1: the file position (IORING_FEAT_RW_CUR_POS)
    REQ_NONBLOCK_TRIED = 1u << 3, // the inline non-blocking attempt ran (buffered read)
};

// Where an rw request's memory is: the user's segments (copied from the SQE
// or its iovec array), and once pinned, the pieces of the pinned pages.
struct RwState {
    u64 offset = 0;
    u32 rw_flags = 0;
    usize total = 0;           // bytes asked for
    usize done = 0;            // bytes moved so far (a read resumed after a page wait)
    mm::IoSegment single{};    // READ / WRITE / *_FIXED
    mm::IoSegment* iov = nullptr; // READV / WRITEV: kmalloc'd copy of the iovec array
    u32 iov_count = 0;
    // Pinned user pages (owned by the request) or a registered buffer's pages
    // (owned by the ring), cut into pieces covering [done, total).
    Page** pinned = nullptr;
    usize pinned_count = 0;
    mm::PageSegment* pieces = nullptr;
    usize piece_count = 0;
    int import_error = 0;      // prep could not import the memory: the CQE's errno
    // One waiter per park (a read may wait for several pages in turn); all
    // freed at release, so a waiter whose callback already ran is never
    // reused while its arming call may still be returning.
    struct ParkedWait* waits = nullptr;
};

struct ParkedWait {
    explicit ParkedWait(pagecache::AsyncPageWaiter::Callback callback, void* context) : waiter(callback, context) { }
    pagecache::AsyncPageWaiter waiter;
    ParkedWait* next = nullptr;
};

struct Request {
    Ring* ring = nullptr;
    u8 opcode = 0;
    u8 sqe_flags = 0; // IOSQE_*
    u32 flags = 0;    // RequestFlag
    RequestState state = RequestState::Prepared;
    i32 fd = -1;
    u16 buf_index = 0;
    u64 user_data = 0;
    vfs::File* file = nullptr; // referenced; looked up at submission
    int file_error = 0;        // the lookup failed: the CQE's errno (EBADF)

    // The result: `res` of the CQE. `expected` is what counts as success for
    // links (an rw that moves fewer bytes than asked breaks its chain, as Linux).
    i32 result = 0;
    i64 expected = -1;
    u32 cqe_flags = 0;

    // Drain: how many requests were submitted before this one.
    u64 sequence = 0;

    Request* link = nullptr;

    union {
        RwState rw;
        struct {
            u32 flags; // IORING_FSYNC_*
        } fsync;
    };

    ListNode node; // m_deferred, the work queue, the overflow list or m_reap

    Request() : rw() { }
    ~Request() { }
    Request(const Request&) = delete;
    Request& operator=(const Request&) = delete;

    bool has_link_flag() const { return sqe_flags & (IOSQE_IO_LINK | IOSQE_IO_HARDLINK); }
};

using RequestList = IntrusiveList<Request, &Request::node>;

} // namespace io_uring
