// The task and process of the calling user thread (null on a kernel thread).
#pragma once

#include "kernel/proc/Process.h"
#include "kernel/sched/Thread.h"

namespace proc {

inline Task* current_task()
{
    Thread* thread = current_thread();
    return thread ? thread->task() : nullptr;
}

inline Process* current_process()
{
    Task* task = current_task();
    return task ? task->process : nullptr;
}

} // namespace proc
