// Guarded<T, Lock>: data that can only be reached with its lock held, so the
// lock that guards a field is visible in its type (STYLE.md item 7).
//
//   Guarded<IntrusiveList<Request, &Request::node>> m_pending{LockRank::Driver, "nvme pending"};
//   m_pending.with([&](auto& pending) { pending.push_back(request); });
//
// `Lock` is SpinLock (the default) or Mutex; each names its RAII guard as
// Lock::Guard.
#pragma once

#include "kernel/lib/Utility.h"
#include "kernel/sync/LockRank.h"
#include "kernel/sync/SpinLock.h"

template <typename T, typename Lock = SpinLock>
class Guarded {
public:
    template <typename... Args>
    explicit Guarded(LockRank rank, const char* name, Args&&... args)
        : m_lock(rank, name)
        , m_value(kstd::forward<Args>(args)...)
    {
    }
    Guarded(const Guarded&) = delete;
    Guarded& operator=(const Guarded&) = delete;

    // Runs `function(T&)` with the lock held and returns what it returns.
    template <typename Function>
    decltype(auto) with(Function&& function)
    {
        typename Lock::Guard guard(m_lock);
        return function(m_value);
    }

    template <typename Function>
    decltype(auto) with(Function&& function) const
    {
        typename Lock::Guard guard(m_lock);
        return function(static_cast<const T&>(m_value));
    }

    // For assertions and diagnostics only.
    const Lock& lock() const { return m_lock; }

private:
    mutable Lock m_lock;
    T m_value;
};
