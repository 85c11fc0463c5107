#include "kernel/io_uring/OpDefs.h"

#include "kernel/io_uring/ops/Ops.h"

namespace io_uring {
namespace {

using namespace ops;

// Indexed by opcode; entries not named are unsupported (no prep).
constexpr OpDef make_table_entry(u8 opcode)
{
    switch (opcode) {
    case IORING_OP_NOP:
        return { "NOP", false, false, nop_prep, nop_issue };
    case IORING_OP_READV:
        return { "READV", true, true, rw_prep, rw_issue };
    case IORING_OP_WRITEV:
        return { "WRITEV", true, true, rw_prep, rw_issue };
    case IORING_OP_FSYNC:
        return { "FSYNC", true, false, fsync_prep, fsync_issue };
    case IORING_OP_READ_FIXED:
        return { "READ_FIXED", true, true, rw_prep, rw_issue };
    case IORING_OP_WRITE_FIXED:
        return { "WRITE_FIXED", true, true, rw_prep, rw_issue };
    case IORING_OP_READ:
        return { "READ", true, true, rw_prep, rw_issue };
    case IORING_OP_WRITE:
        return { "WRITE", true, true, rw_prep, rw_issue };
    default:
        return { "unsupported", false, false, nullptr, nullptr };
    }
}

struct Table {
    OpDef entries[IORING_OP_LAST];
    constexpr Table() : entries()
    {
        for (u32 op = 0; op < IORING_OP_LAST; op++)
            entries[op] = make_table_entry(static_cast<u8>(op));
    }
};

constexpr Table g_table;

} // namespace

const OpDef& op_def(u8 opcode) { return g_table.entries[opcode]; }

bool op_supported(u8 opcode) { return opcode < IORING_OP_LAST && g_table.entries[opcode].prep; }

} // namespace io_uring
