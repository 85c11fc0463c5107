// ktest suites "panic_lock_order" and "panic_sleep_in_atomic": break the
// locking rules on purpose, so that tests/qemu/lock_debug.py can check that
// debug builds (SLUICE_KERNEL_DEBUG) stop with a panic that names the locks.
// Only run when named: each ends the run.
#include "kernel/sched/Scheduler.h"
#include "kernel/sync/SpinLock.h"
#include "tests/ktest/Ktest.h"

KTEST(panic_lock_order, lower_rank_taken_while_holding_higher)
{
    static SpinLock block_lock{LockRank::Block, "test block lock"};
    static SpinLock driver_lock{LockRank::Driver, "test driver lock"};
    SpinLockGuard outer(block_lock);
    SpinLockGuard inner(driver_lock); // Driver (1000) < Block (1100): must panic
    KEXPECT(false);                   // not reached
}

KTEST(panic_sleep_in_atomic, sleep_while_holding_a_spinlock)
{
    static SpinLock lock{LockRank::Generic, "test held lock"};
    SpinLockGuard guard(lock);
    sched::sleep_for(1'000'000); // must panic: a spinlock is held
    KEXPECT(false);              // not reached
}
