#include "kernel/proc/Futex.h"

#include "arch/x86_64/mm/PageTable.h"
#include "arch/x86_64/mm/UserCopy.h"
#include "kernel/lib/Atomic.h"
#include "kernel/lib/IntrusiveList.h"
#include "kernel/mm/AddressSpace.h"
#include "kernel/proc/Current.h"
#include "kernel/sched/DeadlineTimer.h"
#include "kernel/sched/Scheduler.h"
#include "kernel/sched/Thread.h"
#include "kernel/sync/SpinLock.h"
#include "kernel/lib/RestartErrno.h"
#include "uapi/errno.h"

namespace proc {
namespace {

constexpr usize BUCKET_COUNT = 256;

struct Key {
    uptr domain; // address space (private) or 0 (shared: offset is physical)
    uptr offset;
    bool operator==(const Key&) const = default;
};

struct Bucket;

struct Waiter {
    Key key;
    u32 bitset;
    Thread* thread;
    Atomic<Bucket*> bucket; // where it is queued; changes (under both locks) on requeue
    Atomic<bool> woken;     // set by the waker after unlinking
    ListNode node;
};

struct Bucket {
    SpinLock lock{LockRank::Futex, "futex bucket"};
    IntrusiveList<Waiter, &Waiter::node> waiters;
};

Bucket g_buckets[BUCKET_COUNT];
Atomic<u32> g_waiters;

Bucket& bucket_of(const Key& key)
{
    u64 h = (key.domain ^ (key.offset >> 2)) * 0x9e3779b97f4a7c15ul;
    return g_buckets[(h >> 32) % BUCKET_COUNT];
}

Result<Key> key_of(uptr address, bool shared)
{
    if (address % sizeof(u32))
        return Error::from_errno(EINVAL);
    if (!user::access_ok(address, sizeof(u32)))
        return Error::from_errno(EFAULT);
    mm::AddressSpace* space = current_process()->address_space;
    if (!shared)
        return Key{reinterpret_cast<uptr>(space), address};
    // Fault the word in, then key on its frame.
    for (int attempt = 0; attempt < 4; attempt++) {
        mm::Translation t = space->page_table().translate(address);
        if (t.is_mapped())
            return Key{0, t.phys};
        TRY(user::get_user(reinterpret_cast<const u32*>(address)));
    }
    return Error::from_errno(EFAULT);
}

// Wake one waiter (bucket lock held): unlink, then flag, then wake. After the
// flag store the waiter may return and its stack entry vanish, so the
// thread pointer is read first.
void wake_waiter_locked(Bucket& bucket, Waiter& waiter)
{
    bucket.waiters.remove(waiter);
    g_waiters.sub_fetch(1, MemoryOrder::Relaxed);
    Thread* thread = waiter.thread;
    waiter.woken.store(true, MemoryOrder::SeqCst);
    sched::wake_up(*thread);
}

u32 wake_locked(Bucket& bucket, const Key& key, u32 count, u32 bitset)
{
    u32 woken = 0;
    for (auto it = bucket.waiters.begin(); it != bucket.waiters.end() && woken < count;) {
        Waiter& waiter = *it;
        ++it;
        if (waiter.key == key && (waiter.bitset & bitset)) {
            wake_waiter_locked(bucket, waiter);
            woken++;
        }
    }
    return woken;
}

// Run `function` with both buckets locked, in address order (once if they
// are the same bucket; equal ranks may nest in a fixed order).
template <typename Function>
decltype(auto) with_buckets(Bucket& a, Bucket& b, Function&& function)
{
    if (&a == &b) {
        SpinLockGuard guard(a.lock);
        return function();
    }
    SpinLockGuard first(&a < &b ? a.lock : b.lock);
    SpinLockGuard second(&a < &b ? b.lock : a.lock);
    return function();
}

} // namespace

Result<long> futex_wait(uptr address, u32 expected, u64 deadline_ns, u32 bitset, bool shared)
{
    if (bitset == 0)
        return Error::from_errno(EINVAL);
    Key key = TRY(key_of(address, shared));
    Bucket& bucket = bucket_of(key);
    Waiter waiter{key, bitset, current_thread(), Atomic<Bucket*>(&bucket), Atomic<bool>(false), {}};
    auto* word = reinterpret_cast<const u32*>(address);
    for (;;) {
        bool queued = false;
        bool faulted = false;
        u32 value = 0;
        {
            SpinLockGuard guard(bucket.lock);
            // Under the lock a fault is not resolved (see Futex.h).
            if (user::copy_from_user(&value, word, sizeof value).is_error()) {
                faulted = true;
            } else if (value == expected) {
                bucket.waiters.push_back(waiter);
                g_waiters.add_fetch(1, MemoryOrder::Relaxed);
                queued = true;
            }
        }
        if (faulted) {
            TRY(user::get_user(word)); // resolves the fault, or EFAULT
            continue;
        }
        if (!queued)
            return Error::from_errno(EAGAIN);
        break;
    }

    bool timed_out = false;
    {
        sched::DeadlineTimer timer(deadline_ns);
        for (;;) {
            sched::set_current_state(ThreadState::Blocked);
            if (waiter.woken.load(MemoryOrder::SeqCst))
                break;
            if (deadline_ns != FUTEX_NO_TIMEOUT && timer.expired()) {
                timed_out = true;
                break;
            }
            if (current_signal_pending())
                break; // a signal, or the group is being killed
            sched::schedule();
        }
        sched::set_current_state(ThreadState::Runnable);
    }
    if (waiter.woken.load(MemoryOrder::Acquire))
        return 0;
    // Leave the queue, which a requeue may have changed meanwhile.
    for (;;) {
        Bucket* current = waiter.bucket.load(MemoryOrder::Acquire);
        SpinLockGuard guard(current->lock);
        if (waiter.bucket.load(MemoryOrder::Acquire) != current)
            continue;
        if (waiter.woken.load(MemoryOrder::Acquire))
            return 0; // woken between the loop and the lock
        current->waiters.remove(waiter);
        g_waiters.sub_fetch(1, MemoryOrder::Relaxed);
        // Interrupted: an untimed wait restarts after a SA_RESTART handler
        // (and always when no handler ran); a timed one restarts only when
        // no handler ran (Linux uses a restart block that keeps the absolute
        // deadline; here a relative FUTEX_WAIT starts its timeout again).
        if (timed_out)
            return Error::from_errno(ETIMEDOUT);
        return Error::from_errno(deadline_ns == FUTEX_NO_TIMEOUT ? ERESTARTSYS : ERESTARTNOHAND);
    }
}

Result<long> futex_wake(uptr address, u32 count, u32 bitset, bool shared)
{
    if (bitset == 0)
        return Error::from_errno(EINVAL);
    Key key = TRY(key_of(address, shared));
    Bucket& bucket = bucket_of(key);
    SpinLockGuard guard(bucket.lock);
    return wake_locked(bucket, key, count, bitset);
}

Result<long> futex_requeue(uptr address, u32 wake_count, u32 requeue_count, uptr address2, bool compare,
                           u32 compare_value, bool shared)
{
    Key key = TRY(key_of(address, shared));
    Key key2 = TRY(key_of(address2, shared));
    Bucket& bucket = bucket_of(key);
    Bucket& bucket2 = bucket_of(key2);
    auto* word = reinterpret_cast<const u32*>(address);
    for (;;) {
        bool faulted = false;
        bool differs = false;
        long done = with_buckets(bucket, bucket2, [&]() -> long {
            u32 value = 0;
            if (compare && user::copy_from_user(&value, word, sizeof value).is_error()) {
                faulted = true;
                return 0;
            }
            if (compare && value != compare_value) {
                differs = true;
                return 0;
            }
            long count = wake_locked(bucket, key, wake_count, FUTEX_BITSET_MATCH_ANY);
            u32 moved = 0;
            for (auto it = bucket.waiters.begin(); it != bucket.waiters.end() && moved < requeue_count;) {
                Waiter& waiter = *it;
                ++it;
                if (!(waiter.key == key))
                    continue;
                bucket.waiters.remove(waiter);
                waiter.key = key2;
                bucket2.waiters.push_back(waiter);
                waiter.bucket.store(&bucket2, MemoryOrder::Release); // where a leaving waiter must look
                moved++;
            }
            return count + moved;
        });
        if (differs)
            return Error::from_errno(EAGAIN);
        if (faulted) {
            TRY(user::get_user(word));
            continue;
        }
        return done;
    }
}

Result<long> futex_wake_op(uptr address, u32 wake_count, uptr address2, u32 wake_count2, u32 encoded_op,
                           bool shared)
{
    // include/uapi/linux/futex.h: op in bits 31-28 (bit 31 = oparg is a shift
    // count), cmp in 27-24, oparg 23-12, cmparg 11-0 (both sign-extended).
    u32 op = (encoded_op >> 28) & 7;
    bool shift = encoded_op & (1u << 31);
    u32 cmp = (encoded_op >> 24) & 15;
    i32 oparg = static_cast<i32>(encoded_op << 8) >> 20;
    i32 cmparg = static_cast<i32>(encoded_op << 20) >> 20;
    if (shift) {
        if (oparg < 0 || oparg > 31)
            return Error::from_errno(EINVAL);
        oparg = static_cast<i32>(1u << oparg);
    }
    if (op > 4 || cmp > 5)
        return Error::from_errno(ENOSYS);
    Key key = TRY(key_of(address, shared));
    Key key2 = TRY(key_of(address2, shared));

    auto* word2 = reinterpret_cast<u32*>(address2);
    u32 old_value = TRY(user::get_user(word2));
    for (;;) {
        u32 desired;
        switch (op) {
        case 0: desired = static_cast<u32>(oparg); break;          // SET
        case 1: desired = old_value + static_cast<u32>(oparg); break; // ADD
        case 2: desired = old_value | static_cast<u32>(oparg); break; // OR
        case 3: desired = old_value & ~static_cast<u32>(oparg); break; // ANDN
        default: desired = old_value ^ static_cast<u32>(oparg); break; // XOR
        }
        u32 seen = TRY(user::cmpxchg_user(word2, old_value, desired));
        if (seen == old_value)
            break;
        old_value = seen;
    }
    bool pass;
    i32 old_signed = static_cast<i32>(old_value);
    switch (cmp) {
    case 0: pass = old_signed == cmparg; break;
    case 1: pass = old_signed != cmparg; break;
    case 2: pass = old_signed < cmparg; break;
    case 3: pass = old_signed <= cmparg; break;
    case 4: pass = old_signed > cmparg; break;
    default: pass = old_signed >= cmparg; break;
    }
    Bucket& bucket = bucket_of(key);
    Bucket& bucket2 = bucket_of(key2);
    return with_buckets(bucket, bucket2, [&]() -> long {
        long woken = wake_locked(bucket, key, wake_count, FUTEX_BITSET_MATCH_ANY);
        if (pass)
            woken += wake_locked(bucket2, key2, wake_count2, FUTEX_BITSET_MATCH_ANY);
        return woken;
    });
}

u32 futex_waiter_count() { return g_waiters.load(MemoryOrder::Relaxed); }

} // namespace proc
