// Kernel access to user memory: every read or write of a user pointer goes
// through these, never a plain dereference.
//
// Each checks access_ok() first (the whole range below user::USER_END, no
// wrap-around: a kernel address is -EFAULT before anything is touched), then
// copies with RFLAGS.AC set for just the copy (SMAP, SDM Vol. 3A §4.6.1). A
// page fault inside the copy first asks the current address space to resolve
// it (demand paging, copy-on-write); if it cannot, the exception fixup table
// (arch/x86_64/mm/ExceptionTable.h) sends the copy to its error exit and the
// caller gets -EFAULT: an unmapped page, a protection violation, or a range
// that straddles into an unmapped page all end the same way, never in a
// kernel fault. A partial copy's bytes may have been written (as in Linux).
#pragma once

#include "kernel/lib/Result.h"
#include "kernel/lib/Types.h"

namespace user {

// [address, address + size) lies entirely in the user half. size 0 is ok
// for any address below the end (Linux access_ok).
bool access_ok(uptr address, usize size);
inline bool access_ok(const void* address, usize size) { return access_ok(reinterpret_cast<uptr>(address), size); }

Result<void> copy_from_user(void* destination, const void* user_source, usize size);
Result<void> copy_to_user(void* user_destination, const void* source, usize size);
// Copy a NUL-terminated string of at most `capacity - 1` characters plus its
// NUL; returns its length. ENAMETOOLONG when no NUL is within capacity - 1
// characters (callers with a different errno, like execve's E2BIG, map it).
Result<usize> strncpy_from_user(char* destination, const char* user_source, usize capacity);
Result<void> clear_user(void* user_destination, usize size);

// Atomic compare-and-exchange of an aligned u32 in user memory: returns the
// value that was there (the store happened iff it equals `expected`).
// EFAULT, EINVAL if unaligned.
Result<u32> cmpxchg_user(u32* user_address, u32 expected, u32 desired);

template <typename T>
Result<T> get_user(const T* user_pointer)
{
    T value;
    TRY(copy_from_user(&value, user_pointer, sizeof(T)));
    return value;
}

template <typename T>
Result<void> put_user(T* user_pointer, const T& value)
{
    return copy_to_user(user_pointer, &value, sizeof(T));
}

} // namespace user
