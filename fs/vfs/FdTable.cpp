// The per-process descriptor table (see FdTable.h).
#include "fs/vfs/FdTable.h"

#include "fs/vfs/FileApi.h"

namespace vfs {

Result<int> FdTable::install(File* file, u32 fd_flags) { return install_from(file, 0, fd_flags); }

Result<int> FdTable::install_from(File* file, int lowest, u32 fd_flags)
{
    if (!file)
        return Error::from_errno(EBADF);
    const int fd = m_slots.with([&](Slots& slots) {
        for (int i = max(lowest, 0); i < MAX_FDS; i++) {
            if (!slots.files[i]) {
                slots.files[i] = file;
                slots.flags[i] = static_cast<u8>(fd_flags & FD_CLOEXEC);
                return i;
            }
        }
        return -1;
    });
    if (fd < 0)
        return Error::from_errno(EMFILE);
    return fd;
}

Result<int> FdTable::install_at(int fd, File* file, u32 fd_flags)
{
    if (!file || !valid(fd))
        return Error::from_errno(EBADF);
    File* previous = m_slots.with([&](Slots& slots) {
        File* old = slots.files[fd];
        slots.files[fd] = file;
        slots.flags[fd] = static_cast<u8>(fd_flags & FD_CLOEXEC);
        return old;
    });
    // Linux's dup2 ignores errors from closing the replaced file.
    if (previous)
        (void)vfs::close(previous);
    return fd;
}

Result<int> FdTable::open(StringView path, u32 flags, u32 mode)
{
    File* file = TRY(vfs::open(path, flags, mode));
    auto fd = install(file, (flags & O_CLOEXEC) ? FD_CLOEXEC : 0u);
    if (fd.is_error())
        (void)vfs::close(file);
    return fd;
}

void FdTable::copy_from(const FdTable& other)
{
    Slots copy;
    other.m_slots.with([&](const Slots& slots) {
        for (int i = 0; i < MAX_FDS; i++) {
            if (slots.files[i]) {
                copy.files[i] = file_get(*slots.files[i]);
                copy.flags[i] = slots.flags[i];
            }
        }
    });
    m_slots.with([&](Slots& slots) {
        for (int i = 0; i < MAX_FDS; i++) {
            slots.files[i] = copy.files[i];
            slots.flags[i] = copy.flags[i];
        }
    });
}

Result<File*> FdTable::get(int fd) const
{
    if (!valid(fd))
        return Error::from_errno(EBADF);
    File* file = m_slots.with([&](const Slots& slots) {
        File* found = slots.files[fd];
        if (found)
            file_get(*found); // under the lock: a concurrent close cannot free it first
        return found;
    });
    if (!file)
        return Error::from_errno(EBADF);
    return file;
}

Result<void> FdTable::close(int fd)
{
    if (!valid(fd))
        return Error::from_errno(EBADF);
    File* file = m_slots.with([&](Slots& slots) {
        File* found = slots.files[fd];
        slots.files[fd] = nullptr;
        slots.flags[fd] = 0;
        return found;
    });
    if (!file)
        return Error::from_errno(EBADF);
    return vfs::close(file);
}

Result<int> FdTable::dup(int fd)
{
    File* file = TRY(get(fd));
    auto new_fd = install(file, 0);
    if (new_fd.is_error())
        (void)vfs::close(file);
    return new_fd;
}

Result<int> FdTable::dup2(int old_fd, int new_fd)
{
    File* file = TRY(get(old_fd));
    if (old_fd == new_fd) {
        (void)vfs::close(file);
        return new_fd;
    }
    auto result = install_at(new_fd, file, 0);
    if (result.is_error())
        (void)vfs::close(file);
    return result;
}

Result<int> FdTable::dup3(int old_fd, int new_fd, u32 flags)
{
    if ((flags & ~u32(O_CLOEXEC)) || old_fd == new_fd)
        return Error::from_errno(EINVAL);
    File* file = TRY(get(old_fd));
    auto result = install_at(new_fd, file, (flags & O_CLOEXEC) ? FD_CLOEXEC : 0u);
    if (result.is_error())
        (void)vfs::close(file);
    return result;
}

Result<u32> FdTable::fd_flags(int fd) const
{
    if (!valid(fd))
        return Error::from_errno(EBADF);
    const int flags = m_slots.with(
        [&](const Slots& slots) { return slots.files[fd] ? static_cast<int>(slots.flags[fd]) : -1; });
    if (flags < 0)
        return Error::from_errno(EBADF);
    return static_cast<u32>(flags);
}

Result<void> FdTable::set_fd_flags(int fd, u32 fd_flags)
{
    if (!valid(fd))
        return Error::from_errno(EBADF);
    const bool found = m_slots.with([&](Slots& slots) {
        if (!slots.files[fd])
            return false;
        slots.flags[fd] = static_cast<u8>(fd_flags & FD_CLOEXEC);
        return true;
    });
    if (!found)
        return Error::from_errno(EBADF);
    return {};
}

usize FdTable::close_on_exec()
{
    // Take them out in batches under the lock; close (which sleeps) after.
    usize closed = 0;
    for (;;) {
        File* batch[16];
        usize count = 0;
        m_slots.with([&](Slots& slots) {
            for (int i = 0; i < MAX_FDS && count < 16; i++) {
                if (slots.files[i] && (slots.flags[i] & FD_CLOEXEC)) {
                    batch[count++] = slots.files[i];
                    slots.files[i] = nullptr;
                    slots.flags[i] = 0;
                }
            }
        });
        for (usize i = 0; i < count; i++)
            (void)vfs::close(batch[i]);
        closed += count;
        if (count < 16)
            return closed;
    }
}

void FdTable::close_all()
{
    for (;;) {
        File* batch[16];
        usize count = 0;
        m_slots.with([&](Slots& slots) {
            for (int i = 0; i < MAX_FDS && count < 16; i++) {
                if (slots.files[i]) {
                    batch[count++] = slots.files[i];
                    slots.files[i] = nullptr;
                    slots.flags[i] = 0;
                }
            }
        });
        for (usize i = 0; i < count; i++)
            (void)vfs::close(batch[i]);
        if (count < 16)
            return;
    }
}

usize FdTable::open_count() const
{
    return m_slots.with([](const Slots& slots) {
        usize count = 0;
        for (File* file : slots.files)
            count += file != nullptr;
        return count;
    });
}

} // namespace vfs
