// Result<T>: a value or a Linux errno, the kernel's only error channel.
//
// Constructors cannot fail; factories return Result<T> and callers propagate
// failures with TRY(...). Errors carry positive errno values (EIO, ENOMEM, ...);
// the syscall layer negates them on the way to user space.
#pragma once

#include "kernel/lib/Types.h"
#include "kernel/lib/Utility.h"
#include "uapi/errno.h"

class Error {
public:
    static constexpr Error from_errno(int code) { return Error(code); }
    constexpr int code() const { return m_code; }
    constexpr bool operator==(const Error&) const = default;

private:
    explicit constexpr Error(int code) : m_code(code) { }
    int m_code;
};

template <typename T>
class [[nodiscard]] Result {
public:
    Result(const T& value) : m_has_value(true) { new (&m_storage) T(value); }
    Result(T&& value) : m_has_value(true) { new (&m_storage) T(kstd::move(value)); }
    Result(Error error) : m_error(error), m_has_value(false) { }
    Result(Result&& other) : m_error(other.m_error), m_has_value(other.m_has_value)
    {
        if (m_has_value)
            new (&m_storage) T(kstd::move(other.value()));
    }
    Result(const Result&) = delete;
    Result& operator=(const Result&) = delete;
    ~Result()
    {
        if (m_has_value)
            value().~T();
    }

    bool is_error() const { return !m_has_value; }
    Error error() const { return m_error; }
    T& value() { return *reinterpret_cast<T*>(&m_storage); }
    const T& value() const { return *reinterpret_cast<const T*>(&m_storage); }
    T release_value() { return kstd::move(value()); }

private:
    alignas(T) unsigned char m_storage[sizeof(T)];
    Error m_error = Error::from_errno(0);
    bool m_has_value;
};

template <>
class [[nodiscard]] Result<void> {
public:
    Result() : m_error(Error::from_errno(0)) { }
    Result(Error error) : m_error(error) { }

    bool is_error() const { return m_error.code() != 0; }
    Error error() const { return m_error; }
    void release_value() { }

private:
    Error m_error;
};

// Evaluate a Result; on error, return the error from the enclosing function,
// otherwise yield the value.
#define TRY(expr)                                                                                  \
    ({                                                                                             \
        auto _try_result = (expr);                                                                 \
        if (_try_result.is_error()) [[unlikely]]                                                   \
            return _try_result.error();                                                            \
        _try_result.release_value();                                                               \
    })
