// Boot-time set-up of user mode: the syscall table and the architecture's
// hooks into the process layer.
#include "arch/x86_64/user/UserEntry.h"
#include "kernel/proc/Lifecycle.h"
#include "kernel/proc/Signals.h"
#include "kernel/syscall/Table.h"

namespace proc {

void init()
{
    sys::register_all();
    user::Hooks hooks;
    hooks.syscall = sys::dispatch;
    hooks.has_pending_work = has_pending_work;
    hooks.do_pending_work = do_pending_work;
    hooks.fault = handle_user_fault;
    user::set_hooks(hooks);
}

} // namespace proc
