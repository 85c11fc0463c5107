// execve(2): replace the calling process's program.
//
// Formats: a static ELF (kernel/proc/ElfLoader.h) or a "#!" script, whose
// interpreter runs with argv = [interpreter, optional argument, script path,
// argv[1]...] (Linux fs/binfmt_script.c, up to 4 levels of interpreters).
// Everything that can fail (the path, the permissions, the format, loading
// into a new address space, the initial stack) happens before the point of
// no return; after it the other threads are gone, the old address space is
// released, close-on-exec descriptors are closed, FPU and FS/GS bases are
// reset and the frame starts the new program.
#pragma once

#include "kernel/lib/Result.h"
#include "kernel/lib/Types.h"

namespace proc {

// The argument and environment strings of an exec, copied into the kernel.
class ExecArgs {
public:
    // Linux: MAX_ARG_STRLEN is 32 pages per string; the total is bounded by
    // a quarter of the stack limit (2 MiB). This kernel allows 256 KiB in all.
    static constexpr usize CAPACITY = 256 * KiB;

    ExecArgs() = default;
    ~ExecArgs();
    ExecArgs(const ExecArgs&) = delete;
    ExecArgs& operator=(const ExecArgs&) = delete;

    // E2BIG when full, ENOMEM.
    Result<void> add_argument(const char* text, usize length);
    Result<void> add_environment(const char* text, usize length);
    // A user vector of user strings (execve's argv/envp; null = empty).
    // EFAULT, E2BIG.
    Result<void> add_user_vector(const char* const* user_vector, bool environment);

    u32 argc() const { return m_argc; }
    u32 envc() const { return m_envc; }
    // The strings in order, argv then envp, each NUL-terminated.
    const char* strings() const { return m_data; }
    usize size() const { return m_used; }

private:
    Result<void> add(const char* text, usize length);

    char* m_data = nullptr;
    usize m_used = 0;
    u32 m_argc = 0;
    u32 m_envc = 0;
};

// Exec `path` (absolute or relative to the cwd) in the calling process.
// On success the current UserFrame starts the new program.
Result<void> execve(const char* path, ExecArgs& args);

} // namespace proc
