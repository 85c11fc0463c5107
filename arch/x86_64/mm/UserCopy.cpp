#include "arch/x86_64/mm/UserCopy.h"

#include "arch/x86_64/user/UserFrame.h"
#include "uapi/errno.h"

extern "C" usize user_copy_raw(void* destination, const void* source, usize size);
extern "C" usize user_clear_raw(void* destination, usize size);
extern "C" i64 user_strncpy_raw(char* destination, const char* source, usize size);
extern "C" int user_cmpxchg32_raw(u32* address, u32 expected, u32 desired, u32* previous);

namespace user {

bool access_ok(uptr address, usize size)
{
    return address <= USER_END && size <= USER_END - address;
}

Result<void> copy_from_user(void* destination, const void* user_source, usize size)
{
    if (!access_ok(user_source, size))
        return Error::from_errno(EFAULT);
    if (size && user_copy_raw(destination, user_source, size) != 0)
        return Error::from_errno(EFAULT);
    return {};
}

Result<void> copy_to_user(void* user_destination, const void* source, usize size)
{
    if (!access_ok(user_destination, size))
        return Error::from_errno(EFAULT);
    if (size && user_copy_raw(user_destination, source, size) != 0)
        return Error::from_errno(EFAULT);
    return {};
}

Result<usize> strncpy_from_user(char* destination, const char* user_source, usize capacity)
{
    if (capacity == 0)
        return Error::from_errno(ENAMETOOLONG);
    auto address = reinterpret_cast<uptr>(user_source);
    if (address >= USER_END)
        return Error::from_errno(EFAULT);
    // Never read past the end of user space, even looking for the NUL.
    usize limit = min(capacity, USER_END - address);
    i64 length = user_strncpy_raw(destination, user_source, limit);
    if (length < 0)
        return Error::from_errno(EFAULT);
    if (static_cast<usize>(length) == limit) {
        destination[limit - 1] = '\0';
        return Error::from_errno(limit < capacity ? EFAULT : ENAMETOOLONG);
    }
    return static_cast<usize>(length);
}

Result<void> clear_user(void* user_destination, usize size)
{
    if (!access_ok(user_destination, size))
        return Error::from_errno(EFAULT);
    if (size && user_clear_raw(user_destination, size) != 0)
        return Error::from_errno(EFAULT);
    return {};
}

Result<u32> cmpxchg_user(u32* user_address, u32 expected, u32 desired)
{
    if (!access_ok(user_address, sizeof(u32)))
        return Error::from_errno(EFAULT);
    if (reinterpret_cast<uptr>(user_address) % alignof(u32))
        return Error::from_errno(EINVAL);
    // A fault demand paging can resolve (a COW break) is resolved by the
    // fault handler before it considers the fixup.
    u32 previous;
    if (user_cmpxchg32_raw(user_address, expected, desired, &previous) == 0)
        return previous;
    return Error::from_errno(EFAULT);
}

} // namespace user
