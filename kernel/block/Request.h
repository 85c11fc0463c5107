// Request: what a driver sees. One or more contiguous Bios of the same
// operation, a tag that is both its index in the hardware queue's request
// array and (for NVMe) its command id, and room for the driver's per-request
// data right behind it (Linux blk_mq_rq_to_pdu): nothing is allocated per I/O.
#pragma once

#include "kernel/block/Bio.h"
#include "kernel/lib/Atomic.h"
#include "kernel/lib/IntrusiveList.h"
#include "kernel/lib/Types.h"

namespace block {

class HwQueue;
class BlockDevice;
struct QueueLimits;

// Who owns a request, and where it is, in each state.
enum class RequestState : u8 {
    // Tag free. The slot belongs to the hardware queue; no list.
    Idle,
    // Tag held by a submitter that is attaching bios (on its plug list, or
    // about to be inserted). No one else touches it.
    Building,
    // In the hardware queue's scheduler (or its dispatch list), under the
    // hardware queue's lock. queue_node / sort_node are linked.
    Queued,
    // Handed to the driver by queue_request(); the driver owns it until it
    // calls complete_request(). A timeout may be running.
    Issued,
    // complete_request() was called; the block layer is ending its bios and
    // will free the tag. No list.
    Completing,
};

const char* request_state_name(RequestState state);

struct Request {
    BlockDevice* device = nullptr;
    HwQueue* hw_queue = nullptr;
    u32 tag = 0;
    // Written by its owner of the moment (see RequestState), read by the
    // timeout scan, removal and the completion path on other CPUs.
    Atomic<RequestState> state {RequestState::Idle};
    BioOp op = BioOp::Read;
    u32 flags = 0;        // BioFlag of its bios (all equal)

    u64 sector = 0;       // first 512-byte sector
    u32 size_bytes = 0;
    u16 segment_count = 0;
    Bio* bio_head = nullptr;
    Bio* bio_tail = nullptr;

    int status = 0;       // set by complete_request: 0 or a positive errno
    u32 submit_cpu = 0;
    u64 start_ns = 0;     // when it was built (diskstats ticks, latency)
    u64 issue_ns = 0;     // when the driver got it
    Atomic<u64> timeout_deadline_ns {0}; // 0: none; claimed by a compare-exchange to 0
    u64 fifo_deadline_ns = 0; // mq-deadline: when it must be served
    u32 retries = 0;
    // Incremented by blk-mq each time the request is handed to the driver:
    // tells one issue of a tag from the next, so a timeout or a
    // completion meant for an earlier issue cannot act on a later one. NVMe
    // carries its low bits in the command id (Linux's genctr).
    Atomic<u32> generation {0};

    ListNode queue_node;  // FIFO / dispatch list (scheduler), timeout scan
    ListNode sort_node;   // mq-deadline: by sector

    u64 end_sector() const { return sector + (size_bytes >> SECTOR_SHIFT); }
    u32 sectors() const { return size_bytes >> SECTOR_SHIFT; }

    // The driver's data lives right after the Request (its size comes from
    // the tag set), at REQUEST_DRIVER_DATA_OFFSET.
    void* driver_data();
    template <typename T>
    T& driver_data_as() { return *static_cast<T*>(driver_data()); }
    static Request& from_driver_data(void* data);
};

// Requests sit in one array per hardware queue, each followed by its driver
// data; a cache line apart so neighbours do not false-share.
constexpr usize REQUEST_DRIVER_DATA_OFFSET = (sizeof(Request) + 63) & ~usize(63);

inline void* Request::driver_data() { return reinterpret_cast<u8*>(this) + REQUEST_DRIVER_DATA_OFFSET; }
inline Request& Request::from_driver_data(void* data)
{
    return *reinterpret_cast<Request*>(static_cast<u8*>(data) - REQUEST_DRIVER_DATA_OFFSET);
}

// Make `request` describe `bio` alone (state Building).
void request_init_from_bio(Request& request, Bio& bio, const QueueLimits& limits);

enum class MergeKind : u8 { None, Back, Front };

// Could `bio` join `request` at its end (Back) or start (Front) without
// breaking the limits? Same device, op and flags, adjacent sectors, size,
// segments and virt boundary (Linux blk_attempt_plug_merge).
MergeKind merge_kind(const Request& request, const Bio& bio, const QueueLimits& limits);
// Perform a merge merge_kind() allowed.
void request_merge_bio(Request& request, Bio& bio, MergeKind kind, const QueueLimits& limits);

} // namespace block
