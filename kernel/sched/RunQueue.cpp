#include "kernel/sched/RunQueue.h"

#include "kernel/debug/Panic.h"

void RunQueue::enqueue(Thread& thread)
{
    ASSERT(!thread.m_on_rq && !thread.m_run_node.is_linked());
    __atomic_store_n(&thread.m_cpu, m_cpu, __ATOMIC_RELAXED);
    thread.m_on_rq = true;
    m_queue.push_back(thread);
    __atomic_store_n(&m_nr_running, m_nr_running + 1, __ATOMIC_RELAXED);
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
    __atomic_store_n(&m_nr_running, m_nr_running - 1, __ATOMIC_RELAXED);
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
    ASSERT(thread.m_on_rq && thread.m_run_node.is_linked() && !thread.m_on_cpu);
    m_queue.remove(thread);
    thread.m_on_rq = false;
    __atomic_store_n(&m_nr_running, m_nr_running - 1, __ATOMIC_RELAXED);
}
