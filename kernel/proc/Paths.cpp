#include "kernel/proc/Paths.h"

#include "kernel/lib/String.h"
#include "kernel/proc/Current.h"
#include "uapi/errno.h"

namespace proc {
namespace {

// Append the components of `path` to the normalised absolute path in `out`
// (length `length`), resolving "." and "..".
Result<usize> append_components(const char* path, char* out, usize length, usize capacity)
{
    const char* p = path;
    while (*p) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        const char* start = p;
        while (*p && *p != '/')
            p++;
        usize n = static_cast<usize>(p - start);
        if (n == 1 && start[0] == '.')
            continue;
        if (n == 2 && start[0] == '.' && start[1] == '.') {
            while (length > 1 && out[length - 1] != '/')
                length--;
            if (length > 1)
                length--; // the slash before the removed component
            out[length] = '\0';
            continue;
        }
        usize needed = length + (length > 1 ? 1 : 0) + n + 1;
        if (needed > capacity)
            return Error::from_errno(ENAMETOOLONG);
        if (length > 1)
            out[length++] = '/';
        memcpy(out + length, start, n);
        length += n;
        out[length] = '\0';
    }
    return length;
}

} // namespace

Result<usize> join_path(const char* cwd, const char* path, char* out, usize capacity)
{
    if (!path[0])
        return Error::from_errno(ENOENT);
    if (capacity < 2)
        return Error::from_errno(ENAMETOOLONG);
    out[0] = '/';
    out[1] = '\0';
    usize length = 1;
    if (path[0] != '/')
        length = TRY(append_components(cwd, out, length, capacity));
    return append_components(path, out, length, capacity);
}

Result<usize> absolute_path(const char* path, char* out, usize capacity)
{
    Process* process = current_process();
    if (path[0] == '/' || !process || !process->fs)
        return join_path("/", path, out, capacity);
    return process->fs->state.with([&](const FsContext::State& state) { return join_path(state.cwd, path, out, capacity); });
}

} // namespace proc
