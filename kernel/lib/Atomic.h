// Atomic<T>: a field shared between CPUs (or with an interrupt handler), with
// the memory order written at every use, as Zircon's and SerenityOS's
// Atomic<T>. There is no operator= and no implicit conversion: a plain read
// or write of a shared field cannot be written by accident.
//
//   Atomic<u32> m_state{0};
//   m_state.store(READY, MemoryOrder::Release);
//   if (m_state.load(MemoryOrder::Acquire) == READY) ...
//
// AtomicRef<T> does the same for memory that is not a typed field: a ring
// shared with a device, a word inside a hardware- or ABI-defined struct
// (Linux READ_ONCE/WRITE_ONCE, C++20 std::atomic_ref).
//
// This header is the only place that may use the compiler's atomic
// builtins; everything else, lock-free primitives such as the ticket
// spinlock included, is built on Atomic<T> (tools/check_layers enforces it).
//
// Orders are the C++ memory model's (C++20 [atomics.order]); on x86-64
// (SDM Vol. 3A §9.2.2) loads are acquire and stores release for free, and
// only SeqCst stores (a locked xchg) and read-modify-writes cost a barrier.
#pragma once

#include "kernel/lib/Types.h"

enum class MemoryOrder : int {
    Relaxed = __ATOMIC_RELAXED,
    Acquire = __ATOMIC_ACQUIRE,
    Release = __ATOMIC_RELEASE,
    AcqRel = __ATOMIC_ACQ_REL,
    SeqCst = __ATOMIC_SEQ_CST,
};

namespace atomic_detail {

constexpr int order(MemoryOrder order) { return static_cast<int>(order); }

// The failure order of a compare-exchange: the success order without its
// release half (a failed exchange writes nothing), C++20 [atomics.types.operations] 23.
constexpr MemoryOrder failure_order(MemoryOrder success)
{
    if (success == MemoryOrder::AcqRel)
        return MemoryOrder::Acquire;
    if (success == MemoryOrder::Release)
        return MemoryOrder::Relaxed;
    return success;
}

template <typename T>
constexpr bool is_lock_free_size = sizeof(T) == 1 || sizeof(T) == 2 || sizeof(T) == 4 || sizeof(T) == 8;

template <typename T>
struct PointerTraits {
    static constexpr bool is_pointer = false;
};
template <typename T>
struct PointerTraits<T*> {
    static constexpr bool is_pointer = true;
    using Element = T;
};

// Integers take arithmetic (bool and enums do not).
template <typename T>
constexpr bool is_arithmetic = false;
template <> constexpr bool is_arithmetic<char> = true;
template <> constexpr bool is_arithmetic<signed char> = true;
template <> constexpr bool is_arithmetic<unsigned char> = true;
template <> constexpr bool is_arithmetic<short> = true;
template <> constexpr bool is_arithmetic<unsigned short> = true;
template <> constexpr bool is_arithmetic<int> = true;
template <> constexpr bool is_arithmetic<unsigned int> = true;
template <> constexpr bool is_arithmetic<long> = true;
template <> constexpr bool is_arithmetic<unsigned long> = true;
template <> constexpr bool is_arithmetic<long long> = true;
template <> constexpr bool is_arithmetic<unsigned long long> = true;
template <typename T>
constexpr bool is_pointer = PointerTraits<T>::is_pointer;

// Operations on a T in place; Atomic and AtomicRef both forward here.
template <typename T>
struct Ops {
    static_assert(__is_trivially_copyable(T), "Atomic<T> needs a trivially copyable T");
    static_assert(is_lock_free_size<T>, "Atomic<T> needs a T of 1, 2, 4 or 8 bytes");

    static T load(const T* p, MemoryOrder o) { return __atomic_load_n(p, order(o)); }
    static void store(T* p, T value, MemoryOrder o) { __atomic_store_n(p, value, order(o)); }
    static T exchange(T* p, T value, MemoryOrder o) { return __atomic_exchange_n(p, value, order(o)); }
    static bool compare_exchange(T* p, T& expected, T desired, bool weak, MemoryOrder success, MemoryOrder failure)
    {
        return __atomic_compare_exchange_n(p, &expected, desired, weak, order(success), order(failure));
    }
};

template <typename T>
struct Ops<T*> {
    static T* load(T* const* p, MemoryOrder o) { return __atomic_load_n(p, order(o)); }
    static void store(T** p, T* value, MemoryOrder o) { __atomic_store_n(p, value, order(o)); }
    static T* exchange(T** p, T* value, MemoryOrder o) { return __atomic_exchange_n(p, value, order(o)); }
    static bool compare_exchange(T** p, T*& expected, T* desired, bool weak, MemoryOrder success,
                                 MemoryOrder failure)
    {
        return __atomic_compare_exchange_n(p, &expected, desired, weak, order(success), order(failure));
    }
};

} // namespace atomic_detail

// The shared interface of Atomic<T> and AtomicRef<T>, on the T that `Self::address()` returns.
template <typename T, typename Self>
class AtomicOperations {
public:
    T load(MemoryOrder order) const { return atomic_detail::Ops<T>::load(self().address(), order); }
    void store(T value, MemoryOrder order) { atomic_detail::Ops<T>::store(self().address(), value, order); }
    // Returns the previous value.
    T exchange(T value, MemoryOrder order) { return atomic_detail::Ops<T>::exchange(self().address(), value, order); }

    // If the value is `expected`, replace it by `desired` and return true;
    // otherwise load the current value into `expected` and return false.
    bool compare_exchange_strong(T& expected, T desired, MemoryOrder success, MemoryOrder failure)
    {
        return atomic_detail::Ops<T>::compare_exchange(self().address(), expected, desired, false, success, failure);
    }
    bool compare_exchange_strong(T& expected, T desired, MemoryOrder order)
    {
        return compare_exchange_strong(expected, desired, order, atomic_detail::failure_order(order));
    }
    // May fail spuriously (use in a loop).
    bool compare_exchange_weak(T& expected, T desired, MemoryOrder success, MemoryOrder failure)
    {
        return atomic_detail::Ops<T>::compare_exchange(self().address(), expected, desired, true, success, failure);
    }
    bool compare_exchange_weak(T& expected, T desired, MemoryOrder order)
    {
        return compare_exchange_weak(expected, desired, order, atomic_detail::failure_order(order));
    }

    // Integers: return the previous value (fetch_*) or the new one (*_fetch).
    // Pointers: fetch_add/fetch_sub step by elements, as pointer arithmetic.
    template <typename U = T>
    T fetch_add(U delta, MemoryOrder order)
        requires(atomic_detail::is_arithmetic<T> || atomic_detail::is_pointer<T>)
    {
        return __atomic_fetch_add(self().address(), scaled(delta), atomic_detail::order(order));
    }
    template <typename U = T>
    T fetch_sub(U delta, MemoryOrder order)
        requires(atomic_detail::is_arithmetic<T> || atomic_detail::is_pointer<T>)
    {
        return __atomic_fetch_sub(self().address(), scaled(delta), atomic_detail::order(order));
    }
    T add_fetch(T delta, MemoryOrder order)
        requires atomic_detail::is_arithmetic<T>
    {
        return __atomic_add_fetch(self().address(), delta, atomic_detail::order(order));
    }
    T sub_fetch(T delta, MemoryOrder order)
        requires atomic_detail::is_arithmetic<T>
    {
        return __atomic_sub_fetch(self().address(), delta, atomic_detail::order(order));
    }
    T fetch_and(T bits, MemoryOrder order)
        requires atomic_detail::is_arithmetic<T>
    {
        return __atomic_fetch_and(self().address(), bits, atomic_detail::order(order));
    }
    T fetch_or(T bits, MemoryOrder order)
        requires atomic_detail::is_arithmetic<T>
    {
        return __atomic_fetch_or(self().address(), bits, atomic_detail::order(order));
    }
    T fetch_xor(T bits, MemoryOrder order)
        requires atomic_detail::is_arithmetic<T>
    {
        return __atomic_fetch_xor(self().address(), bits, atomic_detail::order(order));
    }

private:
    const Self& self() const { return static_cast<const Self&>(*this); }
    Self& self() { return static_cast<Self&>(*this); }

    // The builtins add raw bytes to a pointer; Atomic<T*> steps by elements.
    template <typename U>
    static auto scaled(U delta)
    {
        if constexpr (atomic_detail::is_pointer<T>)
            return static_cast<isize>(delta) * static_cast<isize>(sizeof(typename atomic_detail::PointerTraits<T>::Element));
        else
            return static_cast<T>(delta);
    }
};

template <typename T>
class Atomic : public AtomicOperations<T, Atomic<T>> {
public:
    constexpr Atomic() : m_value() { }
    constexpr explicit Atomic(T value) : m_value(value) { }
    Atomic(const Atomic&) = delete;
    Atomic& operator=(const Atomic&) = delete;

private:
    friend class AtomicOperations<T, Atomic<T>>;
    T* address() { return &m_value; }
    const T* address() const { return &m_value; }

    alignas(sizeof(T)) T m_value;
};

// Atomic access to a T that lives elsewhere (naturally aligned).
template <typename T>
class AtomicRef : public AtomicOperations<T, AtomicRef<T>> {
public:
    explicit AtomicRef(T& object) : m_object(&object) { }
    explicit AtomicRef(volatile T& object) : m_object(const_cast<T*>(&object)) { }

private:
    friend class AtomicOperations<T, AtomicRef<T>>;
    T* address() const { return m_object; }

    T* m_object;
};

template <typename T>
AtomicRef(T&) -> AtomicRef<T>;

// A fence between the accesses before and after it (C++20 [atomics.fences]).
inline void atomic_thread_fence(MemoryOrder order) { __atomic_thread_fence(atomic_detail::order(order)); }
// Orders against an interrupt handler on the same CPU only: a compiler barrier.
inline void atomic_signal_fence(MemoryOrder order) { __atomic_signal_fence(atomic_detail::order(order)); }
