// The few pieces of <utility>/<type_traits> the kernel needs, without host headers.
#pragma once

namespace kstd {

template <typename T>
struct remove_reference {
    using type = T;
};
template <typename T>
struct remove_reference<T&> {
    using type = T;
};
template <typename T>
struct remove_reference<T&&> {
    using type = T;
};

template <typename T>
constexpr typename remove_reference<T>::type&& move(T&& t) noexcept
{
    return static_cast<typename remove_reference<T>::type&&>(t);
}

template <typename T>
constexpr T&& forward(typename remove_reference<T>::type& t) noexcept
{
    return static_cast<T&&>(t);
}

template <typename T>
constexpr T&& forward(typename remove_reference<T>::type&& t) noexcept
{
    return static_cast<T&&>(t);
}

template <typename T>
constexpr void swap(T& a, T& b)
{
    T tmp = move(a);
    a = move(b);
    b = move(tmp);
}

template <typename T, typename U = T>
constexpr T exchange(T& obj, U&& new_value)
{
    T old = move(obj);
    obj = forward<U>(new_value);
    return old;
}

} // namespace kstd

// Placement new and `new (nothrow)`: the freestanding <new> may be absent, so
// declare them here (the nothrow forms are defined by the heap, kernel/mm/Heap.cpp).
#if __STDC_HOSTED__
#include <new>
#else
inline void* operator new(decltype(sizeof(0)), void* where) noexcept { return where; }
inline void* operator new[](decltype(sizeof(0)), void* where) noexcept { return where; }
namespace std {
struct nothrow_t {
    explicit nothrow_t() = default;
};
inline constexpr nothrow_t nothrow {};
} // namespace std
void* operator new(decltype(sizeof(0)), const std::nothrow_t&) noexcept;
void* operator new[](decltype(sizeof(0)), const std::nothrow_t&) noexcept;
void operator delete(void*, const std::nothrow_t&) noexcept;
void operator delete[](void*, const std::nothrow_t&) noexcept;
#endif
// `new (nothrow) T(...)`: nullptr instead of an exception (or, in the kernel,
// instead of nothing) when memory runs out. See kernel/lib/Own.h.
using std::nothrow;
