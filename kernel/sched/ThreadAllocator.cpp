#include "kernel/sched/ThreadAllocator.h"

#include "arch/x86_64/mm/KernelStack.h"
#include "kernel/debug/Panic.h"
#include "kernel/lib/Atomic.h"
#include "kernel/lib/Utility.h"
#include "kernel/mm/PageAllocator.h"
#include "kernel/sched/Thread.h"
#include "kernel/sync/SpinLock.h"

namespace {

static_assert(mm::KERNEL_STACK_BYTES == Thread::STACK_SIZE);

struct alignas(16) Slot {
    alignas(Thread) u8 thread[sizeof(Thread)];
    Slot* next_free;
    bool used;
};

Slot g_slots[ThreadAllocator::MAX_THREADS];
static_assert(ThreadAllocator::MAX_THREADS <= mm::ap_kernel_stack_slot(0)); // APs' slots come after
SpinLock g_lock{LockRank::ThreadPool, "thread table"};
Slot* g_free = nullptr;
u32 g_never_used = 0; // slots [g_never_used, MAX_THREADS) were never handed out
Atomic<u32> g_live{0}; // written under g_lock, read without it

Slot* take_slot()
{
    SpinLockGuard guard(g_lock);
    Slot* slot = g_free;
    if (slot)
        g_free = slot->next_free;
    else if (g_never_used < ThreadAllocator::MAX_THREADS)
        slot = &g_slots[g_never_used++];
    else
        return nullptr;
    slot->used = true;
    g_live.fetch_add(1, MemoryOrder::Relaxed);
    return slot;
}

void return_slot(Slot* slot)
{
    SpinLockGuard guard(g_lock);
    ASSERT(slot->used);
    slot->used = false;
    slot->next_free = g_free;
    g_free = slot;
    g_live.fetch_sub(1, MemoryOrder::Relaxed);
}

} // namespace

Thread* ThreadAllocator::allocate()
{
    Slot* slot = take_slot();
    if (!slot)
        return nullptr;
    // Slot i of the thread table owns kernel stack slot i (guard-paged).
    u8* stack = mm::map_kernel_stack(static_cast<usize>(slot - g_slots));
    if (!stack) {
        return_slot(slot);
        return nullptr;
    }
    auto* thread = new (slot->thread) Thread();
    thread->m_stack_base = stack;
    thread->m_stack_size = Thread::STACK_SIZE;
    thread->m_owns_stack = true;
    return thread;
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
    ASSERT(thread->m_owns_stack);
    mm::unmap_kernel_stack(static_cast<usize>(slot - g_slots));
    thread->~Thread();
    return_slot(slot);
}

u32 ThreadAllocator::live_count() { return g_live.load(MemoryOrder::Relaxed); }
