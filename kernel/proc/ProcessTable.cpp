#include "kernel/proc/ProcessTable.h"

#include "kernel/lib/Atomic.h"
#include "uapi/errno.h"

namespace proc {
namespace {

constexpr pid_t FIRST_REUSED_PID = 2; // after wrapping, Linux starts over above init

struct PidSlot {
    Task* task = nullptr;       // the thread with this tid
    Process* process = nullptr; // the process with this pid (until reaped)
};

SpinLock g_tree_lock{LockRank::ProcessTree, "process tree"};
PidSlot g_pids[PID_MAX];
pid_t g_last_pid = 0;
IntrusiveList<Process, &Process::all_node> g_all;
Atomic<Process*> g_init;
u32 g_process_count;
u32 g_task_count;

bool used_as_group_locked(pid_t id)
{
    for (Process& process : g_all) {
        if (process.pgid == id || process.sid == id)
            return true;
    }
    return false;
}

} // namespace

namespace detail {
IntrusiveList<Process, &Process::all_node>& all_processes() { return g_all; }
} // namespace detail

SpinLock& tree_lock() { return g_tree_lock; }

Result<pid_t> allocate_pid_locked()
{
    for (pid_t tries = 0; tries < PID_MAX; tries++) {
        pid_t candidate = g_last_pid + 1;
        if (candidate >= PID_MAX)
            candidate = FIRST_REUSED_PID;
        g_last_pid = candidate;
        PidSlot& slot = g_pids[candidate];
        if (slot.task || slot.process || used_as_group_locked(candidate))
            continue;
        return candidate;
    }
    return Error::from_errno(EAGAIN);
}

void set_pid_task_locked(pid_t pid, Task* task)
{
    if (task && !g_pids[pid].task)
        g_task_count++;
    else if (!task && g_pids[pid].task)
        g_task_count--;
    g_pids[pid].task = task;
}

void set_pid_process_locked(pid_t pid, Process* process) { g_pids[pid].process = process; }

Task* find_task_locked(pid_t tid) { return tid > 0 && tid < PID_MAX ? g_pids[tid].task : nullptr; }

Process* find_process_locked(pid_t pid) { return pid > 0 && pid < PID_MAX ? g_pids[pid].process : nullptr; }

void add_process_locked(Process& process)
{
    g_all.push_back(process);
    g_process_count++;
}

void remove_process_locked(Process& process)
{
    g_all.remove(process);
    g_process_count--;
}

Process* init_process() { return g_init.load(MemoryOrder::Acquire); }
void set_init_process(Process* process) { g_init.store(process, MemoryOrder::Release); }

u32 process_count()
{
    SpinLockGuard guard(g_tree_lock);
    return g_process_count;
}

u32 task_count()
{
    SpinLockGuard guard(g_tree_lock);
    return g_task_count;
}

} // namespace proc
