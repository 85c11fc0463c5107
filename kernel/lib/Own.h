// Own<T>: the single owner of a heap object (SerenityOS OwnPtr, std::unique_ptr).
//
// Factories own what they build before their first TRY, so that every early
// return frees it:
//
//     auto controller = TRY(adopt_own_or_enomem(new (nothrow) Controller(...)));
//     TRY(controller->bring_up());   // a failure here deletes the controller
//     return controller;             // Result<Own<Controller>>
//
// Move-only. Destroys its object with `delete` when it goes out of scope or is
// reassigned. `leak()` hands the raw pointer to a longer-lived owner (a global
// registry, an intrusive list) and forgets it; `release()` is its synonym for
// callers that think in std::unique_ptr terms. An Own<Derived> converts to an
// Own<Base> (the base needs a virtual destructor).
//
// `new (nothrow)` returns nullptr when the heap is exhausted (or when the
// allocation-failure injector says so); adopt_own_or_enomem turns that into
// ENOMEM.
#pragma once

#include "kernel/lib/Result.h"
#include "kernel/lib/Types.h"
#include "kernel/lib/Utility.h"

template <typename T>
class Own {
public:
    constexpr Own() = default;
    constexpr Own(decltype(nullptr)) { }
    // Takes ownership of `pointer` (which may be null).
    explicit Own(T* pointer) : m_pointer(pointer) { }

    Own(Own&& other) : m_pointer(other.leak()) { }
    template <typename U>
    Own(Own<U>&& other) : m_pointer(other.leak())
    {
    }
    Own(const Own&) = delete;
    Own& operator=(const Own&) = delete;

    Own& operator=(Own&& other)
    {
        if (this != &other)
            reset(other.leak());
        return *this;
    }
    template <typename U>
    Own& operator=(Own<U>&& other)
    {
        reset(other.leak());
        return *this;
    }
    Own& operator=(decltype(nullptr))
    {
        reset();
        return *this;
    }

    ~Own() { reset(); }

    // Destroys the current object (if any) and owns `pointer` instead.
    void reset(T* pointer = nullptr)
    {
        T* old = m_pointer;
        m_pointer = pointer;
        delete old;
    }

    // Gives up ownership without destroying: the caller now owns the object.
    [[nodiscard]] T* leak() { return kstd::exchange(m_pointer, nullptr); }
    [[nodiscard]] T* release() { return leak(); }

    T* ptr() const { return m_pointer; }
    T* get() const { return m_pointer; }
    T* operator->() const { return m_pointer; }
    T& operator*() const { return *m_pointer; }
    explicit operator bool() const { return m_pointer != nullptr; }
    bool operator==(decltype(nullptr)) const { return m_pointer == nullptr; }

private:
    T* m_pointer = nullptr;
};

// Adopts the result of `new (nothrow) T(...)`: ENOMEM when it is null.
template <typename T>
Result<Own<T>> adopt_own_or_enomem(T* pointer)
{
    if (!pointer)
        return Error::from_errno(ENOMEM);
    return Own<T>(pointer);
}

// Allocates and constructs a T in one step: ENOMEM when the heap is exhausted.
template <typename T, typename... Args>
Result<Own<T>> try_make_own(Args&&... args)
{
    return adopt_own_or_enomem(new (nothrow) T(kstd::forward<Args>(args)...));
}
