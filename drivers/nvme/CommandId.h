// NVMe command ids for blk-mq requests: the tag in the low 12 bits and a
// 4-bit generation above it (Linux's nvme_cid / genctr). The generation
// changes with every issue of a tag, so a completion that arrives late for
// an earlier issue (after a timeout, an abort, a lost interrupt) or twice
// for the same one cannot complete the command that reused the tag.
//
// classify_completion() is the whole rule, kept free of locks and hardware
// so host tests can drive it with crafted completions.
#pragma once

#include "kernel/block/Tags.h"
#include "kernel/lib/Types.h"

namespace nvme {

constexpr u32 COMMAND_ID_TAG_BITS = 12;
constexpr u16 COMMAND_ID_TAG_MASK = (1u << COMMAND_ID_TAG_BITS) - 1;
constexpr u32 COMMAND_ID_GENERATION_MASK = 0xf;
static_assert(block::MAX_TAGS <= (1u << COMMAND_ID_TAG_BITS), "tags must fit below the generation");

constexpr u16 make_command_id(u32 tag, u32 generation)
{
    return static_cast<u16>(((generation & COMMAND_ID_GENERATION_MASK) << COMMAND_ID_TAG_BITS) |
                            (tag & COMMAND_ID_TAG_MASK));
}
constexpr u32 command_id_tag(u16 command_id) { return command_id & COMMAND_ID_TAG_MASK; }
constexpr u32 command_id_generation(u16 command_id) { return command_id >> COMMAND_ID_TAG_BITS; }

enum class CompletionVerdict : u8 {
    Accept,     // completes the command in flight under this tag
    UnknownTag, // beyond the queue's depth
    Idle,       // no command is in flight under this tag
    Stale,      // for an earlier issue of the tag (generation differs)
    Duplicate,  // this completion was already reaped
};

// What the reaper knows about the request a completion names.
struct InFlightCommand {
    bool issued;        // the request is Issued (blk-mq's state)
    bool in_ring;       // submitted and not yet reaped
    u32 generation;     // of the issue the driver submitted
};

constexpr CompletionVerdict classify_completion(u16 command_id, u32 depth, const InFlightCommand* command)
{
    if (command_id_tag(command_id) >= depth || !command)
        return CompletionVerdict::UnknownTag;
    if (!command->issued)
        return CompletionVerdict::Idle;
    if ((command->generation & COMMAND_ID_GENERATION_MASK) != command_id_generation(command_id))
        return CompletionVerdict::Stale;
    if (!command->in_ring)
        return CompletionVerdict::Duplicate;
    return CompletionVerdict::Accept;
}

constexpr const char* completion_verdict_name(CompletionVerdict verdict)
{
    switch (verdict) {
    case CompletionVerdict::Accept: return "accepted";
    case CompletionVerdict::UnknownTag: return "unknown command id";
    case CompletionVerdict::Idle: return "no command in flight";
    case CompletionVerdict::Stale: return "stale (earlier issue of the tag)";
    case CompletionVerdict::Duplicate: return "duplicate";
    }
    return "?";
}

} // namespace nvme
