#include "kernel/sync/LockDebug.h"

#ifdef SLUICE_KERNEL_DEBUG

#include "arch/x86_64/Cpu.h"
#include "arch/x86_64/PerCpu.h"
#include "kernel/debug/Panic.h"
#include "kernel/lib/Atomic.h"
#include "kernel/log/Log.h"

namespace lock_debug {
namespace {

HeldLocks g_cpu_spinlocks[MAX_CPUS];
// Set once a check has failed: the panic that follows takes locks itself
// (the log) and must not recurse into another report.
Atomic<bool> g_reporting{false};

bool reporting() { return g_reporting.load(MemoryOrder::Relaxed); }

const char* rank_kind(LockRank rank)
{
    return static_cast<u16>(rank) < static_cast<u16>(LockRank::Driver) ? "mutex" : "spinlock";
}

void print_held(const char* title, const HeldLocks& held)
{
    log_raw("%s (%u):\n", title, held.count);
    for (u32 i = 0; i < held.count; i++)
        log_raw("  %s \"%s\" rank %u at %p\n", rank_kind(held.locks[i].rank), held.locks[i].name,
                static_cast<unsigned>(held.locks[i].rank), held.locks[i].lock);
}

void check_order(const HeldLocks& held, const void* lock, LockRank rank, const char* name)
{
    if (reporting())
        return;
    for (u32 i = 0; i < held.count; i++) {
        const HeldLock& h = held.locks[i];
        if (h.lock == lock) {
            g_reporting.store(true, MemoryOrder::Relaxed);
            panic("lock order: \"%s\" (%p) taken recursively", name, lock);
        }
        if (static_cast<u16>(h.rank) > static_cast<u16>(rank)) {
            g_reporting.store(true, MemoryOrder::Relaxed);
            print_held("held locks", held);
            panic("lock order violation: taking \"%s\" (rank %u) while holding \"%s\" (rank %u)", name,
                  static_cast<unsigned>(rank), h.name, static_cast<unsigned>(h.rank));
        }
    }
}

void push(HeldLocks& held, const void* lock, LockRank rank, const char* name)
{
    if (held.count == HeldLocks::CAPACITY) {
        if (reporting())
            return;
        g_reporting.store(true, MemoryOrder::Relaxed);
        print_held("held locks", held);
        panic("lock debug: more than %u locks held, taking \"%s\"", HeldLocks::CAPACITY, name);
    }
    held.locks[held.count++] = HeldLock{lock, name, rank};
}

void pop(HeldLocks& held, const void* lock)
{
    for (u32 i = held.count; i-- > 0;) {
        if (held.locks[i].lock == lock) {
            held.locks[i] = held.locks[--held.count];
            return;
        }
    }
    if (reporting())
        return;
    g_reporting.store(true, MemoryOrder::Relaxed);
    panic("lock debug: releasing %p, which is not held here", lock);
}

} // namespace

void spinlock_acquiring(const void* lock, LockRank rank, const char* name)
{
    check_order(g_cpu_spinlocks[current_cpu_index()], lock, rank, name);
}

void spinlock_acquired(const void* lock, LockRank rank, const char* name)
{
    push(g_cpu_spinlocks[current_cpu_index()], lock, rank, name);
}

void spinlock_released(const void* lock) { pop(g_cpu_spinlocks[current_cpu_index()], lock); }

void mutex_acquiring(HeldLocks& held, const void* lock, LockRank rank, const char* name)
{
    check_order(held, lock, rank, name);
}

void mutex_acquired(HeldLocks& held, const void* lock, LockRank rank, const char* name)
{
    push(held, lock, rank, name);
}

void mutex_released(HeldLocks& held, const void* lock) { pop(held, lock); }

void assert_may_sleep(const char* what)
{
    if (reporting())
        return;
    PerCpu& cpu = this_cpu();
    if (cpu.preempt_count == 0 && cpu.irq_depth == 0)
        return;
    g_reporting.store(true, MemoryOrder::Relaxed);
    const HeldLocks& held = g_cpu_spinlocks[cpu.index];
    print_held("spinlocks held", held);
    if (held.count)
        panic("sleeping while holding a spinlock: %s with \"%s\" held (preempt_count %u)", what,
              held.locks[0].name, cpu.preempt_count);
    panic("sleeping in atomic context: %s (preempt_count %u, irq depth %u)", what, cpu.preempt_count,
          cpu.irq_depth);
}

} // namespace lock_debug

#endif
