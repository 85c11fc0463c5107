// devfs at /dev: every registered block device (buffered through its own
// page cache, or O_DIRECT), plus null, zero, console, kmsg and the raw serial
// ports ttyS1..ttyS3 the machine has.
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
    // Serial: a raw byte channel on a serial console other than the
    // primary one (ttyS1..ttyS3; no newline translation: it is not a tty,
    // ioctl answers ENOTTY). Kmsg: each write becomes kernel log lines, as
    // Linux's /dev/kmsg (Documentation/ABI/testing/dev-kmsg): an optional
    // "<N>" priority prefix is dropped.
    enum class Kind { Null, Zero, Console, Kmsg, Serial };
    CharDeviceInode(vfs::SuperBlock& superblock_, u64 number_, Kind kind, u32 major, u32 minor,
                    const console::Console* port = nullptr)
        : Inode(superblock_, number_, S_IFCHR | (kind == Kind::Kmsg ? 0644 : 0666))
        , m_kind(kind)
        , m_console(port)
    {
        rdev = make_device_number(major, minor);
    }
    Result<usize> read(vfs::File&, u64, mm::IoIter& buffer, u32) override
    {
        // Reading the log through /dev/kmsg is not offered.
        if (m_kind == Kind::Kmsg)
            return Error::from_errno(EINVAL);
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
        switch (m_kind) {
        case Kind::Null:
        case Kind::Zero: {
            // drivers/char/mem.c write_null: the data is never read.
            const usize length = buffer.count();
            buffer.advance(length);
            return length;
        }
        case Kind::Kmsg: return write_kmsg(buffer);
        case Kind::Console:
        case Kind::Serial: break;
        }
        // The machine's first console (drivers/serial registers ttyS0 first),
        // or this node's serial port.
        const console::Console* console = m_kind == Kind::Console ? console::primary() : m_console;
        char chunk[256];
        usize done = 0;
        while (buffer.count()) {
            const usize want = min(buffer.count(), sizeof(chunk));
            const usize got = buffer.copy_from(chunk, want);
            if (console && m_kind == Kind::Console)
                console::write_text(*console, chunk, got);
            else if (console)
                console->write(console->context, chunk, got);
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
    // and stay at 0; the console and serial ports are ttys (no_llseek: ESPIPE).
    Result<u64> llseek(vfs::File& file, i64, int) override
    {
        if (m_kind == Kind::Console || m_kind == Kind::Serial || m_kind == Kind::Kmsg)
            return Error::from_errno(ESPIPE);
        file.position = 0;
        return 0ul;
    }

private:
    // One write is one message (Linux's devkmsg_write copies it whole and
    // refuses one longer than PRINTK_MESSAGE_MAX, 2048 bytes).
    static Result<usize> write_kmsg(mm::IoIter& buffer)
    {
        constexpr usize MESSAGE_MAX = 2048;
        const usize length = buffer.count();
        if (length > MESSAGE_MAX)
            return Error::from_errno(EINVAL);
        char text[MESSAGE_MAX];
        if (buffer.copy_from(text, length) != length)
            return Error::from_errno(EFAULT);
        write_log_lines(text, length);
        return length;
    }

    static void write_log_lines(const char* text, usize length)
    {
        if (length >= 3 && text[0] == '<') {
            usize close = 1;
            while (close < length && close < 5 && text[close] >= '0' && text[close] <= '9')
                close++;
            if (close > 1 && close < length && text[close] == '>') {
                text += close + 1;
                length -= close + 1;
            }
        }
        while (length > 0) {
            usize line = 0;
            while (line < length && text[line] != '\n')
                line++;
            log_info("user", "%.*s", static_cast<int>(line), text);
            usize consumed = line < length ? line + 1 : line;
            text += consumed;
            length -= consumed;
        }
    }

    Kind m_kind;
    const console::Console* m_console; // Serial only
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
        u32 major, minor; // Linux's numbers (Documentation/admin-guide/devices.txt)
    };
    using Kind = CharDeviceInode::Kind;
    static const CharDevice CHAR_DEVICES[] = {
        { "null", Kind::Null, 1, 3 },
        { "zero", Kind::Zero, 1, 5 },
        { "kmsg", Kind::Kmsg, 1, 11 },
        { "console", Kind::Console, 5, 1 },
    };
    for (const CharDevice& device : CHAR_DEVICES) {
        auto* inode = new CharDeviceInode(*superblock, 1000 + device.major * 256 + device.minor, device.kind,
                                          device.major, device.minor);
        if (!inode)
            return Error::from_errno(ENOMEM);
        TRY(root->attach(StringView(device.name), inode));
    }
    // /dev/ttyS<N> (char 4:64+N) for each serial console the machine has
    // besides the primary one, which /dev/console already is.
    for (usize i = 0; i < console::count(); i++) {
        const console::Console* port = console::at(i);
        const char* name = port->name;
        if (port == console::primary() || strncmp(name, "ttyS", 4) != 0 || name[4] < '0' || name[4] > '9' || name[5])
            continue;
        const u32 minor = 64 + static_cast<u32>(name[4] - '0');
        auto* inode = new CharDeviceInode(*superblock, 1000 + 4 * 256 + minor, Kind::Serial, 4, minor, port);
        if (!inode)
            return Error::from_errno(ENOMEM);
        TRY(root->attach(StringView(name), inode));
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
