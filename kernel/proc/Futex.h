// Futexes (futex(2), Linux kernel/futex/): wait queues keyed by a user
// address, the sleeping half of user-space locks, condition variables and
// pthread_join.
//
// Key: a private futex (FUTEX_PRIVATE_FLAG) is (address space, address); a
// shared one is the physical address of the word, so that processes mapping
// the same page (MAP_SHARED) meet on it.
//
// The word is read under the bucket lock, so "compare, then sleep" cannot
// miss a wake that follows a store: a waker that changed the word and called
// FUTEX_WAKE either finds the waiter queued or ran before the compare. A
// fault while reading under the lock is not resolved there (no sleeping
// under a spinlock); the word is faulted in outside the lock and the wait
// starts over (Linux's get_futex_value_locked + retry).
#pragma once

#include "kernel/lib/Result.h"
#include "kernel/lib/Types.h"

namespace proc {

constexpr u32 FUTEX_BITSET_MATCH_ANY = 0xffffffff;
constexpr u64 FUTEX_NO_TIMEOUT = ~0ul;

// Sleep while *address == expected, until woken with a bitset that shares a
// bit with `bitset`, or `deadline_ns` (clock_ns) passes (ETIMEDOUT), or the
// thread has a signal pending (ERESTARTSYS untimed, ERESTARTNOHAND timed:
// the signal layer makes them EINTR or a restart). EAGAIN if the word differs, EFAULT, EINVAL
// (unaligned, bitset 0).
Result<long> futex_wait(uptr address, u32 expected, u64 deadline_ns, u32 bitset, bool shared);
// Wake up to `count` waiters on address whose bitset matches; how many woke.
Result<long> futex_wake(uptr address, u32 count, u32 bitset, bool shared);
// Wake `wake_count` waiters of address, move up to `requeue_count` of the
// rest to address2. With `compare`, EAGAIN unless *address == compare_value.
Result<long> futex_requeue(uptr address, u32 wake_count, u32 requeue_count, uptr address2, bool compare,
                           u32 compare_value, bool shared);
// FUTEX_WAKE_OP: *address2 = op(*address2, oparg) atomically; wake up to
// wake_count on address, and up to wake_count2 on address2 if the old value
// passes the encoded comparison.
Result<long> futex_wake_op(uptr address, u32 wake_count, uptr address2, u32 wake_count2, u32 encoded_op,
                           bool shared);

// Waiters queued on every futex (tests check it returns to zero).
u32 futex_waiter_count();

} // namespace proc
