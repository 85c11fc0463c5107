#include "kernel/sched/RunQueue.h"

#include "kernel/debug/Panic.h"
#include "kernel/lib/Atomic.h"

void RunQueue::enqueue(Thread& thread)
{
    ASSERT(!thread.m_on_rq && !thread.m_run_node.is_linked());
    thread.m_cpu.store(m_cpu, MemoryOrder::Relaxed);
    thread.m_on_rq = true;
    m_queue.push_back(thread);
    m_nr_running.store(m_nr_running.load(MemoryOrder::Relaxed) + 1, MemoryOrder::Relaxed);
}

void RunQueue::requeue(Thread& thread)
{
    ASSERT(thread.m_on_rq && !thread.m_run_node.is_linked());
    m_queue.push_back(thread);
}

Thread* RunQueue::pick_next() { return m_queue.pop_front(); }

void RunQueue::deactivate(Thread& thread)
{
    ASSERT(thread.m_on_rq && !thread.m_run_node.is_linked());
    thread.m_on_rq = false;
    m_nr_running.store(m_nr_running.load(MemoryOrder::Relaxed) - 1, MemoryOrder::Relaxed);
}

Thread* RunQueue::find_movable()
{
    // The unpinned thread nearest the back: the one that would wait longest here.
    Thread* candidate = nullptr;
    for (Thread& thread : m_queue) {
        if (!thread.is_pinned())
            candidate = &thread;
    }
    return candidate;
}

void RunQueue::remove_for_migration(Thread& thread)
{
    ASSERT(thread.m_on_rq && thread.m_run_node.is_linked() && !thread.m_on_cpu.load(MemoryOrder::Relaxed));
    m_queue.remove(thread);
    thread.m_on_rq = false;
    m_nr_running.store(m_nr_running.load(MemoryOrder::Relaxed) - 1, MemoryOrder::Relaxed);
}
