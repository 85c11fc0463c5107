// Synchronous admin commands (1.4 §5): one at a time on the polled admin
// queue, serialised by a ranked mutex.
#include "drivers/nvme/Controller.h"

#include "arch/x86_64/Cpu.h"
#include "drivers/nvme/Status.h"
#include "kernel/log/Log.h"
#include "kernel/time/Clock.h"

namespace nvme {

Result<CompletionEntry> Controller::admin(SubmissionEntry command, u64 timeout_ns)
{
    bool found = false;
    CompletionEntry result {};
    {
        // One admin command at a time; callers are boot, the timeout worker
        // (abort, reset) and removal, all in thread context.
        MutexGuard guard(m_admin_lock);
        command.command_id = m_admin_next_cid++;
        m_admin->submit(command);
        m_admin->commit();
        const u64 deadline = clock_ns() + timeout_ns;
        while (!found) {
            m_admin->process_completions([&](const CompletionEntry& cqe) {
                if (cqe.command_id == command.command_id) {
                    result = cqe;
                    found = true;
                }
            });
            if (!found && clock_ns() > deadline)
                break;
            if (!found)
                x86::pause();
        }
    }
    if (!found) {
        log_error("nvme", "%s: admin opcode 0x%x timed out", m_name, command.opcode);
        return Error::from_errno(ETIMEDOUT);
    }
    const u16 status = result.status_field();
    if (status != status::SUCCESS) {
        log_warn("nvme", "%s: admin opcode 0x%x failed: %s", m_name, command.opcode, status_name(status));
        return Error::from_errno(status_to_errno(status));
    }
    return result;
}

} // namespace nvme
