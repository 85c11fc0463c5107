#include "kernel/block/Worker.h"

#include "kernel/block/TagSet.h"
#include "kernel/lib/Atomic.h"
#include "kernel/log/Log.h"
#include "kernel/sched/Scheduler.h"
#include "kernel/sched/Thread.h"
#include "kernel/sync/WaitQueue.h"

namespace block {

namespace {

constexpr u32 MAX_PENDING = 32;

// Tag sets whose timeout check is due, FIFO, under g_lock (taken from the
// timer interrupt too).
SpinLock g_lock{LockRank::Registry, "block worker queue"};
TagSet* g_pending[MAX_PENDING];
u32 g_pending_count = 0;
TagSet* g_checking = nullptr; // the set whose check runs now, under g_lock
WaitQueue g_wake;
Atomic<bool> g_running{false};

bool has_work()
{
    SpinLockGuard guard(g_lock);
    return g_pending_count != 0;
}

TagSet* take_one()
{
    SpinLockGuard guard(g_lock);
    if (!g_pending_count)
        return nullptr;
    TagSet* set = g_pending[0];
    for (u32 i = 1; i < g_pending_count; i++)
        g_pending[i - 1] = g_pending[i];
    g_pending_count--;
    g_checking = set;
    return set;
}

void worker_main(void*)
{
    for (;;) {
        wait_event(g_wake, [] { return has_work(); });
        while (TagSet* set = take_one()) {
            set->run_timeout_check();
            SpinLockGuard guard(g_lock);
            g_checking = nullptr;
        }
    }
}

} // namespace

void start_worker()
{
    if (g_running.load(MemoryOrder::Acquire))
        return;
    auto thread = Thread::create("kblockd", worker_main, nullptr, {.detached = true});
    if (thread.is_error()) {
        log_error("block", "cannot start the block worker (errno %d): no request timeouts", thread.error().code());
        return;
    }
    g_running.store(true, MemoryOrder::Release);
    thread.value()->start();
}

bool worker_running() { return g_running.load(MemoryOrder::Acquire); }

bool queue_timeout_check(TagSet& set)
{
    if (!worker_running())
        return false;
    {
        SpinLockGuard guard(g_lock);
        for (u32 i = 0; i < g_pending_count; i++)
            if (g_pending[i] == &set)
                return true;
        if (g_pending_count == MAX_PENDING)
            return false;
        g_pending[g_pending_count++] = &set;
    }
    g_wake.wake_all();
    return true;
}

void forget_timeout_checks(TagSet& set)
{
    for (;;) {
        {
            SpinLockGuard guard(g_lock);
            u32 kept = 0;
            for (u32 i = 0; i < g_pending_count; i++)
                if (g_pending[i] != &set)
                    g_pending[kept++] = g_pending[i];
            g_pending_count = kept;
            if (g_checking != &set)
                return;
        }
        sched::sleep_for(1'000'000);
    }
}

} // namespace block
