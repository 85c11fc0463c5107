#include "kernel/syscall/FileArgs.h"

#include "arch/x86_64/mm/UserCopy.h"
#include "kernel/lib/String.h"
#include "kernel/mm/Heap.h"
#include "kernel/proc/Current.h"
#include "uapi/errno.h"
#include "uapi/fcntl.h"

namespace sys {

FdRef::FdRef(int fd, bool allow_path)
{
    auto got = proc::current_process()->files->table.get(fd);
    if (got.is_error())
        return;
    m_file = got.value();
    if ((m_file->flags & O_PATH) && !allow_path) {
        (void)vfs::close(m_file);
        m_file = nullptr;
    }
}

FdRef::~FdRef()
{
    if (m_file)
        (void)vfs::close(m_file);
}

PathScratch::PathScratch(usize slots)
    : m_data(static_cast<char*>(kmalloc(slots * proc::PATH_CAPACITY)))
{
}

PathScratch::~PathScratch() { kfree(m_data); }

Result<usize> copy_path(u64 user_path, char* out)
{
    return user::strncpy_from_user(out, reinterpret_cast<const char*>(user_path), proc::PATH_CAPACITY);
}

namespace {

// `directory` + "/" + `relative`, left for the VFS walk to resolve: ".."
// and symlinks then mean what they mean on Linux, and a trailing slash
// stays ("file/" is ENOTDIR). ENAMETOOLONG past PATH_MAX.
Result<void> join(const char* directory, const char* relative, char* out)
{
    const usize directory_length = strlen(directory);
    const usize relative_length = strlen(relative);
    const bool slash = directory_length == 0 || directory[directory_length - 1] != '/';
    if (directory_length + slash + relative_length + 1 > proc::PATH_CAPACITY)
        return Error::from_errno(ENAMETOOLONG);
    memcpy(out, directory, directory_length);
    if (slash)
        out[directory_length] = '/';
    memcpy(out + directory_length + slash, relative, relative_length + 1);
    return {};
}

} // namespace

Result<AtPath> resolve_at(int dirfd, u64 user_path, bool allow_empty, PathScratch& scratch, usize first)
{
    char* raw = scratch.slot(first);
    char* directory = scratch.slot(first + 1);
    char* absolute = scratch.slot(first + 2);
    const usize length = TRY(copy_path(user_path, raw));
    AtPath result;
    result.absolute = absolute;
    if (length == 0) {
        if (!allow_empty)
            return Error::from_errno(ENOENT);
        result.empty = true;
        raw[0] = '.';
        raw[1] = '\0';
    }
    if (raw[0] == '/') {
        memcpy(absolute, raw, length + 1);
        return result;
    }
    if (dirfd == AT_FDCWD) {
        proc::current_process()->fs->state.with([&](const proc::FsContext::State& state) {
            memcpy(directory, state.cwd, strlen(state.cwd) + 1);
        });
    } else {
        FdRef file(dirfd, true);
        if (!file)
            return Error::from_errno(EBADF);
        if (!result.empty && !file->inode->is_directory())
            return Error::from_errno(ENOTDIR);
        TRY(vfs::path_of(file->path, directory, proc::PATH_CAPACITY));
        if (result.empty) {
            memcpy(absolute, directory, strlen(directory) + 1);
            return result;
        }
    }
    if (result.empty) {
        memcpy(absolute, directory, strlen(directory) + 1);
        return result;
    }
    TRY(join(directory, raw, absolute));
    return result;
}

} // namespace sys
