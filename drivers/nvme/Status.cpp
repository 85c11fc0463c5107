// The mapping follows Linux's nvme_error_status() in spirit (what reaches user
// space for each class of failure), with one deliberate difference: media
// errors (unrecovered read, write fault) are -EIO rather than -ENODATA,
// because that is what applications test for and what the storage issue asks.
#include "drivers/nvme/Status.h"

#include "drivers/nvme/Spec.h"
#include "uapi/errno.h"

namespace nvme {

int status_to_errno(u16 status_field)
{
    const u16 value = static_cast<u16>(status_field & 0x7ff); // SCT + SC, no CRD/M/DNR
    switch (value) {
    case status::SUCCESS:
        return 0;
    case status::INVALID_OPCODE:
        return EOPNOTSUPP;
    case status::INVALID_FIELD:
    case status::INVALID_PRP_OFFSET:
    case status::INVALID_NAMESPACE:
        return EINVAL;
    case status::CAPACITY_EXCEEDED:
        return ENOSPC;
    case status::LBA_OUT_OF_RANGE:
        return EREMOTEIO; // Linux: BLK_STS_TARGET
    case status::RESERVATION_CONFLICT:
        return EBUSY;
    case status::NAMESPACE_NOT_READY:
        return EAGAIN;
    case status::ABORT_REQUESTED:
    case status::ABORTED_SQ_DELETION:
    case status::ABORTED_POWER_LOSS:
        return ECANCELED;
    case status::ATTEMPTED_WRITE_TO_READ_ONLY:
        return EROFS;
    case status::GUARD_CHECK_ERROR:
    case status::APPLICATION_TAG_CHECK_ERROR:
    case status::REFERENCE_TAG_CHECK_ERROR:
        return EILSEQ; // Linux: BLK_STS_PROTECTION
    default:
        // Media errors, data transfer errors, internal errors and anything
        // not named above.
        return EIO;
    }
}

const char* status_name(u16 status_field)
{
    switch (static_cast<u16>(status_field & 0x7ff)) {
    case status::SUCCESS: return "success";
    case status::INVALID_OPCODE: return "invalid opcode";
    case status::INVALID_FIELD: return "invalid field";
    case status::COMMAND_ID_CONFLICT: return "command id conflict";
    case status::DATA_TRANSFER_ERROR: return "data transfer error";
    case status::ABORTED_POWER_LOSS: return "aborted (power loss)";
    case status::INTERNAL_ERROR: return "internal error";
    case status::ABORT_REQUESTED: return "abort requested";
    case status::ABORTED_SQ_DELETION: return "aborted (SQ deleted)";
    case status::INVALID_NAMESPACE: return "invalid namespace";
    case status::COMMAND_SEQUENCE_ERROR: return "command sequence error";
    case status::INVALID_PRP_OFFSET: return "invalid PRP offset";
    case status::LBA_OUT_OF_RANGE: return "LBA out of range";
    case status::CAPACITY_EXCEEDED: return "capacity exceeded";
    case status::NAMESPACE_NOT_READY: return "namespace not ready";
    case status::RESERVATION_CONFLICT: return "reservation conflict";
    case status::INVALID_COMPLETION_QUEUE: return "invalid completion queue";
    case status::INVALID_QUEUE_ID: return "invalid queue id";
    case status::INVALID_QUEUE_SIZE: return "invalid queue size";
    case status::ABORT_LIMIT_EXCEEDED: return "abort limit exceeded";
    case status::INVALID_INTERRUPT_VECTOR: return "invalid interrupt vector";
    case status::ATTEMPTED_WRITE_TO_READ_ONLY: return "write to read-only range";
    case status::WRITE_FAULT: return "write fault";
    case status::UNRECOVERED_READ_ERROR: return "unrecovered read error";
    case status::GUARD_CHECK_ERROR: return "guard check error";
    case status::APPLICATION_TAG_CHECK_ERROR: return "application tag check error";
    case status::REFERENCE_TAG_CHECK_ERROR: return "reference tag check error";
    case status::COMPARE_FAILURE: return "compare failure";
    case status::ACCESS_DENIED: return "access denied";
    case status::DEALLOCATED_OR_UNWRITTEN: return "deallocated or unwritten block";
    default: return "unknown status";
    }
}

} // namespace nvme
