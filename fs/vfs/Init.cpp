// Boot-time namespace: ramfs at /, the initramfs unpacked into it, devfs at
// /dev, procfs at /proc, and an ext2 filesystem named on the command line:
//   root2=/dev/vda         mount it (read-write)
//   root2.at=/mnt          where (default /mnt)
//   root2.ro               read-only
#include "fs/devfs/DevFs.h"
#include "fs/ext2/Ext2Vfs.h"
#include "fs/pagecache/Mapping.h"
#include "fs/procfs/ProcFs.h"
#include "fs/ramfs/RamFs.h"
#include "fs/vfs/FileApi.h"
#include "kernel/debug/Panic.h"
#include "arch/x86_64/boot/BootInfo.h"
#include "kernel/log/Log.h"
#include "kernel/mm/DirectMap.h"

namespace vfs {

void init()
{
    ramfs::register_filesystem();
    devfs::register_filesystem();
    procfs::register_filesystem();
    ext2::register_filesystem();
    register_name_cache_shrinker();

    if (mount("none", "/", "ramfs", 0).is_error())
        panic("vfs: cannot mount the root ramfs");
    BootInfo& info = boot_info();
    if (const BootModule* initramfs = info.find_module("initramfs")) {
        auto unpacked = ramfs::unpack_initramfs(
            phys_to_virt<const u8>(initramfs->start), initramfs->end - initramfs->start);
        if (unpacked.is_error())
            log_error("vfs", "initramfs: not a cpio newc archive (errno %d)", unpacked.error().code());
    }
    static const char* const DIRECTORIES[] = { "/dev", "/proc", "/mnt" };
    for (const char* directory : DIRECTORIES) {
        auto made = mkdir(StringView(directory), 0755);
        if (made.is_error() && made.error().code() != EEXIST)
            log_error("vfs", "mkdir %s: errno %d", directory, made.error().code());
    }
    (void)mount("devfs", "/dev", "devfs", 0);
    (void)mount("proc", "/proc", "proc", 0);

    if (info.command_line.has("root2")) {
        const StringView source = info.command_line.get("root2");
        const StringView target = info.command_line.get("root2.at", "/mnt");
        (void)mkdir(target, 0755);
        (void)mount(source, target, "ext2", info.command_line.has("root2.ro") ? 1u : 0u);
    }
}

} // namespace vfs
