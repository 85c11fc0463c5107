// ktest suite "vfs_mount": `..` across mount points. From the root of a
// mounted filesystem `..` leaves it for the directory the mount sits in
// (Linux follow_dotdot()), never the mounted filesystem's own root.
//   - a ramfs mounted on /vfs-m/mp (always runs);
//   - the ext2 filesystem at /mnt when root2= is given: /mnt/dir/../..
//     must land on the root ramfs (tests/qemu/ext2_rw.py, write part).
#include "fs/vfs/FileApi.h"
#include "arch/x86_64/boot/BootInfo.h"
#include "kernel/lib/String.h"
#include "tests/ktest/Ktest.h"

namespace {

bool same_inode(StringView a, StringView b)
{
    vfs::Stat sa, sb;
    if (vfs::stat(a, sa).is_error() || vfs::stat(b, sb).is_error())
        return false;
    return sa.device == sb.device && sa.inode == sb.inode;
}

// Whether the directory at `path` has an entry `name`.
bool has_entry(StringView path, StringView name)
{
    auto directory = vfs::open(path, O_RDONLY | O_DIRECTORY);
    if (directory.is_error())
        return false;
    bool found = false;
    vfs::DirEntry entry;
    for (;;) {
        auto more = vfs::readdir(*directory.value(), entry);
        if (more.is_error() || !more.value())
            break;
        if (StringView(entry.name, entry.name_length) == name)
            found = true;
    }
    (void)vfs::close(directory.value());
    return found;
}

} // namespace

KTEST(vfs_mount, dotdot_leaves_a_mounted_ramfs)
{
    KASSERT(!vfs::mkdir("/vfs-m").is_error());
    KASSERT(!vfs::mkdir("/vfs-m/mp").is_error());
    KASSERT(!vfs::mkdir("/vfs-m/beside").is_error());
    KASSERT(!vfs::mount("none", "/vfs-m/mp", "ramfs", 0).is_error());
    KASSERT(!vfs::mkdir("/vfs-m/mp/inner").is_error());
    vfs::Stat outer, mounted;
    KASSERT(!vfs::stat("/vfs-m", outer).is_error());
    KASSERT(!vfs::stat("/vfs-m/mp", mounted).is_error());
    KEXPECT(mounted.device != outer.device); // the walk crossed into the new filesystem

    KEXPECT(same_inode("/vfs-m/mp/..", "/vfs-m"));
    KEXPECT(same_inode("/vfs-m/mp/inner/../..", "/vfs-m"));
    KEXPECT(same_inode("/vfs-m/mp/inner/..", "/vfs-m/mp"));
    KEXPECT(same_inode("/vfs-m/mp/../beside", "/vfs-m/beside"));
    KEXPECT(same_inode("/vfs-m/mp/inner/../../mp/inner", "/vfs-m/mp/inner"));
    KEXPECT(has_entry("/vfs-m/mp/inner/../..", "beside"));
    KEXPECT(!has_entry("/vfs-m/mp/inner/../..", "inner"));
    // Relative to a start inside the mount.
    vfs::Stat beside;
    KASSERT(!vfs::stat("/vfs-m/beside", beside).is_error());
    {
        MutexGuard guard(vfs::namespace_lock());
        auto start = vfs::resolve("/vfs-m/mp/inner", vfs::WALK_FOLLOW);
        KASSERT(!start.is_error());
        auto up = vfs::resolve("../../beside", vfs::WALK_FOLLOW, &start.value());
        KASSERT(!up.is_error());
        KEXPECT(up.value().dentry->inode->number == beside.inode);
        KEXPECT(&up.value().dentry->inode->superblock != &start.value().dentry->inode->superblock);
        KEXPECT(up.value().mount != start.value().mount);
    }
    // `..` of the root is the root.
    KEXPECT(same_inode("/..", "/"));
    KEXPECT(same_inode("/vfs-m/mp/../../../..", "/"));

    KEXPECT(!vfs::rmdir("/vfs-m/mp/inner").is_error());
    KEXPECT(!vfs::unmount("/vfs-m/mp").is_error());
    KEXPECT(!vfs::rmdir("/vfs-m/mp").is_error());
    KEXPECT(!vfs::rmdir("/vfs-m/beside").is_error());
    KEXPECT(!vfs::rmdir("/vfs-m").is_error());
}

KTEST(vfs_mount, dotdot_leaves_the_ext2_mount)
{
    if (!boot_info().command_line.has("root2") || boot_info().command_line.has("root2.ro"))
        return;
    KASSERT(!vfs::mkdir("/mnt/updir").is_error());
    KASSERT(!vfs::mkdir("/mnt/updir/sub").is_error());
    vfs::Stat root, mnt, inside;
    KASSERT(!vfs::stat("/", root).is_error());
    KASSERT(!vfs::stat("/mnt", mnt).is_error());
    KASSERT(!vfs::stat("/mnt/updir", inside).is_error());
    KEXPECT(mnt.device != root.device);
    KEXPECT_EQ(mnt.inode, 2u); // EXT2_ROOT_INO: /mnt is the ext2 root, not the ramfs directory

    KEXPECT(same_inode("/mnt/updir/sub/../..", "/mnt"));
    KEXPECT(same_inode("/mnt/updir/sub/../../..", "/"));
    KEXPECT(same_inode("/mnt/..", "/"));
    KEXPECT(same_inode("/mnt/updir/../../proc", "/proc"));
    KEXPECT(same_inode("/mnt/updir/sub/../../../mnt/updir", "/mnt/updir"));
    // The directory reached is the root ramfs: its entries, not ext2's.
    KEXPECT(has_entry("/mnt/updir/sub/../../..", "dev"));
    KEXPECT(has_entry("/mnt/updir/sub/../../..", "proc"));
    KEXPECT(!has_entry("/mnt/updir/sub/../../..", "updir"));
    KEXPECT(!has_entry("/mnt/updir/sub/../../..", "lost+found"));
    // And a file opened through it is the root filesystem's.
    auto zero = vfs::open("/mnt/updir/sub/../../../dev/zero", O_RDONLY);
    KEXPECT(!zero.is_error());
    if (!zero.is_error())
        (void)vfs::close(zero.value());
    KEXPECT(!vfs::rmdir("/mnt/updir/sub").is_error());
    KEXPECT(!vfs::rmdir("/mnt/updir").is_error());
}
