// Debug-build checks of the lock order (kernel/sync/LockRank.h) and of
// "sleeping while holding a spinlock". With SLUICE_KERNEL_DEBUG off every
// hook is an empty inline function.
//
// Held spinlocks are recorded per CPU (a spinlock disables interrupts, so its
// holder cannot move to another CPU while holding it; the run queue lock that
// is held across a context switch is released by the next thread on the same
// CPU). Held mutexes are recorded per thread, in the Thread.
#pragma once

#include "kernel/lib/Types.h"
#include "kernel/sync/LockRank.h"

namespace lock_debug {

struct HeldLock {
    const void* lock;
    const char* name;
    LockRank rank;
};

// A small unordered set of held locks (locks may be released out of order).
struct HeldLocks {
    static constexpr u32 CAPACITY = 16;
    HeldLock locks[CAPACITY];
    u32 count = 0;
};

#ifdef SLUICE_KERNEL_DEBUG
// Before spinning for `lock` on this CPU: panic if this CPU holds a
// higher-ranked spinlock. After acquisition, record it.
void spinlock_acquiring(const void* lock, LockRank rank, const char* name);
void spinlock_acquired(const void* lock, LockRank rank, const char* name);
void spinlock_released(const void* lock);

// The same for mutexes, recorded in `held` (the current thread's set).
void mutex_acquiring(HeldLocks& held, const void* lock, LockRank rank, const char* name);
void mutex_acquired(HeldLocks& held, const void* lock, LockRank rank, const char* name);
void mutex_released(HeldLocks& held, const void* lock);

// Panic (naming the held spinlocks) if the caller may not sleep: preemption
// is disabled on this CPU (a spinlock is held, or we are in an interrupt).
void assert_may_sleep(const char* what);
#else
inline void spinlock_acquiring(const void*, LockRank, const char*) { }
inline void spinlock_acquired(const void*, LockRank, const char*) { }
inline void spinlock_released(const void*) { }
inline void mutex_acquiring(HeldLocks&, const void*, LockRank, const char*) { }
inline void mutex_acquired(HeldLocks&, const void*, LockRank, const char*) { }
inline void mutex_released(HeldLocks&, const void*) { }
inline void assert_may_sleep(const char*) { }
#endif

} // namespace lock_debug
