// devfs at /dev: every registered block device (buffered through its own
// page cache, or O_DIRECT), plus null, zero and console.
#include "fs/devfs/DevFs.h"

#include "fs/pagecache/BlockDeviceMapping.h"
#include "fs/ramfs/RamFs.h"
#include "kernel/block/BlockDevice.h"
#include "kernel/block/DeviceRemoval.h"
#include "kernel/lib/Format.h"
#include "kernel/log/Console.h"
#include "kernel/log/Log.h"
#include "kernel/lib/String.h"
#include "kernel/mm/Heap.h"

namespace devfs {

namespace {

u64 make_device_number(u32 major, u32 minor)
{
    return (minor & 0xff) | (major << 8) | (static_cast<u64>(minor & ~0xffu) << 12);
}

struct DeviceSuperBlock final : vfs::SuperBlock { };
DeviceSuperBlock g_device_superblock; // owner of block device inodes (the "bdev" pseudo filesystem)

// /dev/<disk>: the device's own page cache (fs/pagecache/BlockDeviceMapping.h),
// shared with filesystems mounted from it; O_DIRECT through the generic
// direct I/O of the same space.
//
// When the device is removed (pci::unbind) the node stays in /dev, detached:
// every read and write fails with ENODEV, as a Linux node of a missing disk
// does; a device registered again under the same name re-attaches it.
class BlockDeviceInode final : public vfs::Inode {
public:
    BlockDeviceInode(block::BlockDevice& device, pagecache::Mapping& space, u64 number_)
        : Inode(g_device_superblock, number_, S_IFBLK | 0660)
    {
        attach(device, space);
    }

    // Under the namespace lock (no file can be opened meanwhile).
    void attach(block::BlockDevice& device, pagecache::Mapping& space)
    {
        m_device = &device;
        mapping = &space;
        size = device.capacity_bytes();
        mapping->set_size_bytes(size);
        rdev = make_device_number(device.major(), device.minor());
    }
    void detach()
    {
        m_device = nullptr;
        mapping = nullptr;
        size = 0;
    }
    bool attached() const { return m_device != nullptr; }

    Result<usize> read(vfs::File& file, u64 offset, mm::IoIter& buffer, u32 flags) override
    {
        if (!m_device)
            return Error::from_errno(ENODEV);
        return Inode::read(file, offset, buffer, flags);
    }
    Result<usize> write(vfs::File& file, u64 offset, mm::IoIter& buffer) override
    {
        if (!m_device)
            return Error::from_errno(ENODEV);
        if (m_device->read_only())
            return Error::from_errno(EPERM);
        if (offset >= size)
            return Error::from_errno(ENOSPC);
        return clamped(buffer, size - offset, [&] { return Inode::write(file, offset, buffer); });
    }
    Result<usize> direct_io(bool write, u64 offset, mm::IoIter& buffer) override
    {
        if (!m_device)
            return Error::from_errno(ENODEV);
        if (write && m_device->read_only())
            return Error::from_errno(EPERM);
        if (offset >= size)
            return write ? Result<usize>(Error::from_errno(ENOSPC)) : Result<usize>(0ul);
        return clamped(buffer, size - offset, [&] { return Inode::direct_io(write, offset, buffer); });
    }
    Result<void> fsync(bool data_only) override
    {
        if (!m_device)
            return Error::from_errno(ENODEV);
        return Inode::fsync(data_only);
    }
    Result<void> truncate(u64) override { return Error::from_errno(EINVAL); }

private:
    // Run `io` on at most `limit` bytes of `buffer` (the end of the device).
    template <typename Io>
    static Result<usize> clamped(mm::IoIter& buffer, u64 limit, Io io)
    {
        const usize cut = buffer.count() > limit ? buffer.count() - static_cast<usize>(limit) : 0;
        buffer.truncate(buffer.count() - cut);
        auto result = io();
        buffer.expand(cut);
        return result;
    }

    block::BlockDevice* m_device;
};

class CharDeviceInode final : public vfs::Inode {
public:
    enum class Kind { Null, Zero, Console };
    CharDeviceInode(vfs::SuperBlock& superblock_, u64 number_, Kind kind, u32 minor)
        : Inode(superblock_, number_, S_IFCHR | 0666)
        , m_kind(kind)
    {
        rdev = make_device_number(kind == Kind::Console ? 5 : 1, minor);
    }
    Result<usize> read(vfs::File&, u64, mm::IoIter& buffer, u32) override
    {
        if (m_kind != Kind::Zero)
            return 0ul;
        const usize length = buffer.count();
        const usize zeroed = buffer.zero(length);
        if (zeroed == 0 && length)
            return Error::from_errno(EFAULT);
        return zeroed;
    }
    Result<usize> write(vfs::File&, u64, mm::IoIter& buffer) override
    {
        if (m_kind != Kind::Console) {
            // drivers/char/mem.c write_null: the data is never read.
            const usize length = buffer.count();
            buffer.advance(length);
            return length;
        }
        // The machine's first console (drivers/serial registers ttyS0 first).
        const console::Console* console = console::primary();
        char chunk[256];
        usize done = 0;
        while (buffer.count()) {
            const usize want = min(buffer.count(), sizeof(chunk));
            const usize got = buffer.copy_from(chunk, want);
            if (console)
                console::write_text(*console, chunk, got);
            done += got;
            if (got < want)
                break;
        }
        if (done == 0 && buffer.count())
            return Error::from_errno(EFAULT);
        return done;
    }
    Result<void> truncate(u64) override { return {}; }
    Result<void> fsync(bool) override { return {}; }
    // drivers/char/mem.c null_lseek: /dev/null and /dev/zero seek anywhere
    // and stay at 0; the console is a tty (no_llseek: ESPIPE).
    Result<u64> llseek(vfs::File& file, i64, int) override
    {
        if (m_kind == Kind::Console)
            return Error::from_errno(ESPIPE);
        file.position = 0;
        return 0ul;
    }

private:
    Kind m_kind;
};

constexpr usize MAX_DEVICE_INODES = block::MAX_BLOCK_DEVICES;
// One node per device name ever registered; `device` is null while the node
// is detached (its device removed). Under the namespace lock.
struct {
    block::BlockDevice* device;
    BlockDeviceInode* inode;
    char name[16];
} g_device_inodes[MAX_DEVICE_INODES];
u64 g_next_number = 1;
ramfs::RamInode* g_root = nullptr; // the mounted devfs, for devices registered later

Result<vfs::SuperBlock*> mount_devfs(StringView, u32, char*, usize)
{
    vfs::SuperBlock* superblock = TRY(ramfs::make_superblock("devfs"));
    auto* root = static_cast<ramfs::RamInode*>(superblock->root);
    struct CharDevice {
        const char* name;
        CharDeviceInode::Kind kind;
        u32 minor;
    };
    static const CharDevice CHAR_DEVICES[] = {
        { "null", CharDeviceInode::Kind::Null, 3 },
        { "zero", CharDeviceInode::Kind::Zero, 5 },
        { "console", CharDeviceInode::Kind::Console, 1 },
    };
    for (const CharDevice& device : CHAR_DEVICES) {
        auto* inode = new CharDeviceInode(*superblock, 1000 + device.minor, device.kind, device.minor);
        if (!inode)
            return Error::from_errno(ENOMEM);
        TRY(root->attach(StringView(device.name), inode));
    }
    for (usize i = 0; i < block::device_count(); i++) {
        block::BlockDevice* device = block::device_at(i);
        if (!device)
            break;
        vfs::Inode* inode = TRY(vfs::block_device_inode(*device));
        TRY(root->attach(StringView(device->name()), inode));
    }
    g_root = root;
    return superblock;
}

const vfs::FileSystemType g_devfs_type = { "devfs", mount_devfs };

// --- devices coming and going (kernel/block/DeviceRemoval.h) -------------------------

auto* slot_named(const char* name)
{
    for (auto& slot : g_device_inodes)
        if (slot.inode && strcmp(slot.name, name) == 0)
            return &slot;
    return static_cast<decltype(&g_device_inodes[0])>(nullptr);
}

// Re-attach the node of a name seen before, or add a node to a mounted devfs.
void device_added(block::BlockDevice& device)
{
    MutexGuard guard(vfs::namespace_lock());
    if (auto* slot = slot_named(device.name())) {
        auto space = pagecache::block_device_mapping(device);
        if (space.is_error())
            return;
        slot->inode->attach(device, *space.value());
        slot->device = &device;
        return;
    }
    if (!g_root)
        return; // mount_devfs lists it
    auto inode = vfs::block_device_inode(device);
    if (!inode.is_error())
        (void)g_root->attach(StringView(device.name()), inode.value());
}

Result<void> device_removing(block::BlockDevice& device)
{
    {
        MutexGuard guard(vfs::namespace_lock());
        for (auto& slot : g_device_inodes) {
            if (slot.device != &device)
                continue;
            // Open files would hold pages and a mapping that are about to go.
            if (slot.inode->open_count)
                return Error::from_errno(EBUSY);
            slot.inode->detach();
            slot.device = nullptr;
        }
    }
    if (auto written = pagecache::release_block_device_mapping(device); written.is_error())
        log_warn("devfs", "%s: writing back cached pages failed (errno %d); dropped", device.name(),
                 written.error().code());
    return {};
}

void device_removal_cancelled(block::BlockDevice& device) { device_added(device); }

} // namespace

void register_filesystem()
{
    vfs::register_filesystem(g_devfs_type);
    block::DeviceListener listener;
    listener.added = device_added;
    listener.removing = device_removing;
    listener.removal_cancelled = device_removal_cancelled;
    block::add_device_listener(listener);
}

} // namespace devfs

namespace vfs {

Result<Inode*> block_device_inode(block::BlockDevice& device)
{
    for (auto& slot : devfs::g_device_inodes) {
        if (slot.device == &device)
            return static_cast<Inode*>(slot.inode);
    }
    for (auto& slot : devfs::g_device_inodes) {
        if (!slot.inode) {
            pagecache::Mapping* space = TRY(pagecache::block_device_mapping(device));
            auto* inode = new devfs::BlockDeviceInode(device, *space, devfs::g_next_number++);
            if (!inode)
                return Error::from_errno(ENOMEM);
            slot.device = &device;
            slot.inode = inode;
            format_string(slot.name, sizeof(slot.name), "%s", device.name());
            return static_cast<Inode*>(inode);
        }
    }
    return Error::from_errno(ENOMEM);
}

} // namespace vfs
