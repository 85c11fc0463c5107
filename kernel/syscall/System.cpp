// Whole-system syscalls: mount(2), umount2(2) and reboot(2). The caller is
// always root (Sluice has no other credentials yet), so the CAP_SYS_ADMIN /
// CAP_SYS_BOOT checks of Linux always pass.
#include "arch/x86_64/mm/UserCopy.h"
#include "fs/vfs/Vfs.h"
#include "kernel/lib/String.h"
#include "kernel/log/Log.h"
#include "kernel/mm/Heap.h"
#include "kernel/power/Power.h"
#include "kernel/proc/Paths.h"
#include "kernel/proc/Process.h"
#include "kernel/syscall/Table.h"
#include "uapi/errno.h"
#include "uapi/mount.h"
#include "uapi/reboot.h"
#include "uapi/unistd_64.h"

namespace sys {
namespace {

long error(const Error& e) { return -static_cast<long>(e.code()); }

// Scratch for the copied strings; freed on every return.
struct Scratch {
    char* p = static_cast<char*>(kmalloc(4 * proc::PATH_CAPACITY));
    ~Scratch() { kfree(p); }
    char* slot(int i) { return p + i * proc::PATH_CAPACITY; }
};

constexpr usize FSTYPE_CAPACITY = 64;

// A path argument copied in and made absolute against the cwd.
Result<const char*> absolute_path_from_user(u64 user_path, char* copy, char* absolute)
{
    TRY(user::strncpy_from_user(copy, reinterpret_cast<const char*>(user_path), proc::PATH_CAPACITY));
    TRY(proc::absolute_path(copy, absolute, proc::PATH_CAPACITY));
    return static_cast<const char*>(absolute);
}

// Flags that only tune a mount Sluice makes the same way with or without
// them. Anything else (MS_REMOUNT, MS_BIND, MS_MOVE, propagation) is not
// implemented: EINVAL rather than a mount that is not what was asked.
constexpr u64 MOUNT_FLAGS_ACCEPTED = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_SYNCHRONOUS | MS_NOATIME
    | MS_NODIRATIME | MS_SILENT | MS_RELATIME | MS_STRICTATIME | MS_LAZYTIME;

long sys_mount(u64 user_source, u64 user_target, u64 user_type, u64 flags, u64, u64)
{
    Scratch scratch;
    if (!scratch.p)
        return -ENOMEM;
    // Linux 2.4's magic in the high half is still accepted and ignored.
    if ((flags & MS_MGC_MSK) == MS_MGC_VAL)
        flags &= ~static_cast<u64>(MS_MGC_MSK);
    if (flags & ~MOUNT_FLAGS_ACCEPTED)
        return -EINVAL;

    auto target = absolute_path_from_user(user_target, scratch.slot(0), scratch.slot(1));
    if (target.is_error())
        return error(target.error());
    char type[FSTYPE_CAPACITY];
    auto type_length = user::strncpy_from_user(type, reinterpret_cast<const char*>(user_type), sizeof type);
    if (type_length.is_error())
        return type_length.error().code() == ENAMETOOLONG ? -ENODEV : error(type_length.error());
    // tmpfs is ramfs here (no size limit, nothing swapped): the same files.
    if (strcmp(type, "tmpfs") == 0)
        memcpy(type, "ramfs", sizeof "ramfs");

    // The source names a device for disk filesystems and is free text for
    // the others (Linux ignores it for ramfs/proc); a path ("/..." or
    // "./...") is made absolute.
    const char* source = "none";
    if (user_source) {
        char* copy = scratch.slot(2);
        auto copied = user::strncpy_from_user(copy, reinterpret_cast<const char*>(user_source), proc::PATH_CAPACITY);
        if (copied.is_error())
            return error(copied.error());
        source = copy;
        if (copied.value() > 0 && (copy[0] == '/' || copy[0] == '.')) {
            auto absolute = proc::absolute_path(copy, scratch.slot(3), proc::PATH_CAPACITY);
            if (absolute.is_error())
                return error(absolute.error());
            source = scratch.slot(3);
        }
    }
    auto mounted = vfs::mount(StringView(source), StringView(target.value()), StringView(type),
                              (flags & MS_RDONLY) ? 1u : 0u);
    return mounted.is_error() ? error(mounted.error()) : 0;
}

long sys_umount2(u64 user_target, u64 flags, u64, u64, u64, u64)
{
    // MNT_FORCE / MNT_DETACH / MNT_EXPIRE change what unmounting means; not
    // offered.
    if (flags & ~static_cast<u64>(UMOUNT_NOFOLLOW))
        return -EINVAL;
    Scratch scratch;
    if (!scratch.p)
        return -ENOMEM;
    auto target = absolute_path_from_user(user_target, scratch.slot(0), scratch.slot(1));
    if (target.is_error())
        return error(target.error());
    auto unmounted = vfs::unmount(StringView(target.value()));
    return unmounted.is_error() ? error(unmounted.error()) : 0;
}

// kernel/reboot.c: both magic numbers first (EINVAL), then the command.
// As on Linux, filesystems are not synced here: that is the caller's job.
long sys_reboot(u64 magic1, u64 magic2, u64 command, u64, u64, u64)
{
    const u32 m1 = static_cast<u32>(magic1), m2 = static_cast<u32>(magic2);
    if (m1 != LINUX_REBOOT_MAGIC1
        || (m2 != LINUX_REBOOT_MAGIC2 && m2 != LINUX_REBOOT_MAGIC2A && m2 != LINUX_REBOOT_MAGIC2B
            && m2 != LINUX_REBOOT_MAGIC2C))
        return -EINVAL;
    switch (static_cast<u32>(command)) {
    case LINUX_REBOOT_CMD_POWER_OFF:
        log_info("power", "reboot(2): power off");
        power_off();
    case LINUX_REBOOT_CMD_CAD_ON:
    case LINUX_REBOOT_CMD_CAD_OFF:
        return 0; // there is no Ctrl-Alt-Del to route
    default:
        return -EINVAL; // restart, halt, kexec, suspend: not implemented
    }
}

} // namespace

void register_system_syscalls()
{
    register_syscall(__NR_mount, "mount", sys_mount);
    register_syscall(__NR_umount2, "umount2", sys_umount2);
    register_syscall(__NR_reboot, "reboot", sys_reboot);
}

} // namespace sys
