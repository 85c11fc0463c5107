// Pids and the process tree: allocation of pids/tids from one space (as in
// Linux, a thread id is a pid), lookups, and the tree lock (Process.h).
#pragma once

#include "kernel/proc/Process.h"
#include "kernel/sync/SpinLock.h"

namespace proc {

SpinLock& tree_lock();

// Reserve the lowest free id above the last one handed out (wrapping to 2,
// as Linux's pid allocator does past pid_max), skipping ids still in use as
// a pid, a tid, a process group or a session. EAGAIN when none is free.
// Tree lock held.
Result<pid_t> allocate_pid_locked();
// Bind `pid` to its task / process (tree lock held).
void set_pid_task_locked(pid_t pid, Task* task);
void set_pid_process_locked(pid_t pid, Process* process);

Task* find_task_locked(pid_t tid);
Process* find_process_locked(pid_t pid);

// Every process that exists (zombies too), under the tree lock.
void add_process_locked(Process& process);
void remove_process_locked(Process& process);
template <typename Function>
void for_each_process_locked(Function&& function);

// PID 1, once it exists (orphans are reparented to it).
Process* init_process();
void set_init_process(Process* process);

// Live processes and tasks (tests check they return to their start values).
u32 process_count();
u32 task_count();

namespace detail {
IntrusiveList<Process, &Process::all_node>& all_processes();
}

template <typename Function>
void for_each_process_locked(Function&& function)
{
    for (Process& process : detail::all_processes())
        function(process);
}

} // namespace proc
