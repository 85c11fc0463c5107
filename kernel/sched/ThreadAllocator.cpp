#include "kernel/sched/ThreadAllocator.h"

#include "kernel/debug/Panic.h"
#include "kernel/lib/Utility.h"
#include "kernel/mm/Heap.h"
#include "kernel/mm/PageAllocator.h"
#include "kernel/sched/Thread.h"
#include "kernel/sync/SpinLock.h"

namespace {

constexpr unsigned STACK_ORDER = 2;
static_assert((PAGE_SIZE << STACK_ORDER) == Thread::STACK_SIZE);

SpinLock g_lock{LockRank::ThreadPool, "thread cache"};
mm::SlabCache* g_cache = nullptr;
u32 g_live = 0;

mm::SlabCache* cache()
{
    mm::SlabCache* cache = __atomic_load_n(&g_cache, __ATOMIC_ACQUIRE);
    if (cache)
        return cache;
    SpinLockGuard guard(g_lock);
    if (!g_cache)
        __atomic_store_n(&g_cache, mm::slab_cache_create("thread", sizeof(Thread), alignof(Thread)),
                         __ATOMIC_RELEASE);
    return g_cache;
}

} // namespace

Thread* ThreadAllocator::allocate()
{
    mm::SlabCache* threads = cache();
    if (!threads)
        return nullptr;
    void* memory = mm::slab_alloc(threads);
    if (!memory)
        return nullptr;
    Page* stack = mm::alloc_pages(STACK_ORDER);
    if (!stack) {
        mm::slab_free(threads, memory);
        return nullptr;
    }
    auto* thread = new (memory) Thread();
    thread->m_stack_base = static_cast<u8*>(mm::page_address(stack));
    thread->m_stack_size = Thread::STACK_SIZE;
    thread->m_owns_stack = true;
    __atomic_add_fetch(&g_live, 1, __ATOMIC_RELAXED);
    return thread;
}

void ThreadAllocator::free(Thread* thread)
{
    // A waker may still be leaving sched::wake_up() for this thread: its
    // last access is the release of m_wake_lock.
    {
        SpinLockGuard wait_for_wakers(thread->m_wake_lock);
    }
    ASSERT(thread->m_owns_stack);
    mm::free_pages(mm::virt_to_page(thread->m_stack_base), STACK_ORDER);
    thread->~Thread();
    mm::slab_free(g_cache, thread);
    __atomic_sub_fetch(&g_live, 1, __ATOMIC_RELAXED);
}

u32 ThreadAllocator::live_count() { return __atomic_load_n(&g_live, __ATOMIC_RELAXED); }
