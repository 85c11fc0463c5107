#include "kernel/sched/ThreadAllocator.h"

#include "kernel/debug/Panic.h"
#include "kernel/lib/Utility.h"
#include "kernel/sched/Thread.h"
#include "kernel/sync/SpinLock.h"

namespace {

struct alignas(16) Slot {
    alignas(Thread) u8 thread[sizeof(Thread)];
    bool used;
};

Slot g_slots[ThreadAllocator::MAX_THREADS];
alignas(PAGE_SIZE) u8 g_stacks[ThreadAllocator::MAX_THREADS][Thread::STACK_SIZE];
SpinLock g_lock{LockRank::ThreadPool, "thread pool"};
u32 g_live = 0;

} // namespace

Thread* ThreadAllocator::allocate()
{
    SpinLockGuard guard(g_lock);
    for (u32 i = 0; i < MAX_THREADS; i++) {
        if (g_slots[i].used)
            continue;
        g_slots[i].used = true;
        g_live++;
        auto* thread = new (g_slots[i].thread) Thread();
        thread->m_stack_base = g_stacks[i];
        thread->m_stack_size = Thread::STACK_SIZE;
        thread->m_owns_stack = true;
        return thread;
    }
    return nullptr;
}

void ThreadAllocator::free(Thread* thread)
{
    // A waker may still be leaving sched::wake_up() for this thread: its
    // last access is the release of m_wake_lock.
    {
        SpinLockGuard wait_for_wakers(thread->m_wake_lock);
    }
    auto* slot = reinterpret_cast<Slot*>(reinterpret_cast<u8*>(thread) - __builtin_offsetof(Slot, thread));
    ASSERT(slot >= g_slots && slot < g_slots + MAX_THREADS);
    thread->~Thread();
    SpinLockGuard guard(g_lock);
    ASSERT(slot->used);
    slot->used = false;
    g_live--;
}

u32 ThreadAllocator::live_count() { return __atomic_load_n(&g_live, __ATOMIC_RELAXED); }
