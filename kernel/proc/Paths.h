// Paths relative to a process's working directory. The VFS walks absolute
// paths from the root, so the process layer joins a relative path to the
// cwd and normalises the result lexically ("." and ".." components, repeated
// slashes); a ".." through a symlinked directory therefore goes to the
// lexical parent (as a shell's logical cwd does), not the target's parent.
#pragma once

#include "kernel/lib/Result.h"
#include "kernel/lib/Types.h"

namespace proc {

struct FsContext;

// `path` against `cwd` (absolute, normalised) into `out` (capacity bytes).
// ENAMETOOLONG, ENOENT for an empty path.
Result<usize> join_path(const char* cwd, const char* path, char* out, usize capacity);
// The same against the current process's cwd.
Result<usize> absolute_path(const char* path, char* out, usize capacity);

} // namespace proc
