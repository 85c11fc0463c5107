#include "kernel/block/Request.h"

#include "kernel/block/Limits.h"

namespace block {

const char* request_state_name(RequestState state)
{
    switch (state) {
    case RequestState::Idle: return "idle";
    case RequestState::Building: return "building";
    case RequestState::Queued: return "queued";
    case RequestState::Issued: return "issued";
    case RequestState::Completing: return "completing";
    }
    return "?";
}

void request_init_from_bio(Request& request, Bio& bio, const QueueLimits& limits)
{
    request.state.store(RequestState::Building, MemoryOrder::Relaxed);
    request.device = bio.device;
    request.op = bio.op;
    request.flags = bio.flags;
    request.sector = bio.sector();
    request.size_bytes = bio.size_bytes();
    request.segment_count = static_cast<u16>(bio_segment_count(bio, limits));
    request.bio_head = request.bio_tail = &bio;
    bio.next = nullptr;
    request.status = 0;
    request.retries = 0;
}

MergeKind merge_kind(const Request& request, const Bio& bio, const QueueLimits& limits)
{
    if (request.state.load(MemoryOrder::Relaxed) != RequestState::Building || request.op == BioOp::Flush || bio.op != request.op)
        return MergeKind::None;
    if (request.device != bio.device || request.flags != bio.flags || (bio.flags & BIO_NOMERGE))
        return MergeKind::None;
    if (u64(request.size_bytes) + bio.size_bytes() > limits.max_request_bytes())
        return MergeKind::None;
    if (request.segment_count + bio_segment_count(bio, limits) > limits.max_segments)
        return MergeKind::None;
    if (request.end_sector() == bio.sector() && segments_mergeable(*request.bio_tail, bio, limits))
        return MergeKind::Back;
    if (bio.end_sector() == request.sector && segments_mergeable(bio, *request.bio_head, limits))
        return MergeKind::Front;
    return MergeKind::None;
}

void request_merge_bio(Request& request, Bio& bio, MergeKind kind, const QueueLimits& limits)
{
    request.segment_count = static_cast<u16>(request.segment_count + bio_segment_count(bio, limits));
    request.size_bytes += bio.size_bytes();
    if (kind == MergeKind::Back) {
        bio.next = nullptr;
        request.bio_tail->next = &bio;
        request.bio_tail = &bio;
    } else {
        bio.next = request.bio_head;
        request.bio_head = &bio;
        request.sector = bio.sector();
    }
}

} // namespace block
