// devfs at /dev: every registered block device (buffered through its own
// page cache, or O_DIRECT), plus null, zero and console.
#include "fs/devfs/DevFs.h"

#include "drivers/serial/Uart16550.h"
#include "fs/pagecache/PageState.h"
#include "fs/ramfs/RamFs.h"
#include "kernel/block/BlkMq.h"
#include "kernel/block/BlockDevice.h"
#include "kernel/lib/String.h"
#include "kernel/mm/Heap.h"
#include "kernel/mm/PageAllocator.h"

namespace devfs {

namespace {

u64 make_device_number(u32 major, u32 minor) { return (minor & 0xff) | (major << 8) | (static_cast<u64>(minor & ~0xffu) << 12); }

// A block device's page cache: byte offset = page index * PAGE_SIZE, in
// 512-byte blocks so that dirtiness is tracked per sector.
Result<void> map_device_page(AddressSpace& space, u64 index, bool, u32, u32, PageMap& map)
{
    const u64 capacity = space.device->capacity_sectors();
    map.block_size = block::SECTOR_SIZE;
    map.count = PAGE_SIZE / block::SECTOR_SIZE;
    for (u32 i = 0; i < map.count; i++) {
        const u64 sector = index * map.count + i;
        map.blocks[i] = sector < capacity ? sector : PageMap::HOLE;
    }
    return {};
}

const AddressSpaceOperations g_device_space_operations = {map_device_page};

struct DeviceSuperBlock final : vfs::SuperBlock {
};
DeviceSuperBlock g_device_superblock; // owner of block device inodes (the "bdev" pseudo filesystem)

class BlockDeviceInode final : public vfs::Inode {
public:
    BlockDeviceInode(block::BlockDevice& device, u64 number_)
        : Inode(g_device_superblock, number_, S_IFBLK | 0660, &device, &g_device_space_operations), m_device(device)
    {
        mapping.sector_dirty_tracking = true;
        size = device.capacity_bytes();
        rdev = make_device_number(device.major(), device.minor());
    }

    Result<usize> write(vfs::File& file, u64 offset, const void* buffer, usize length) override
    {
        if (m_device.read_only())
            return Error::from_errno(EPERM);
        if (offset >= size)
            return Error::from_errno(ENOSPC);
        length = static_cast<usize>(min<u64>(length, size - offset));
        u64 unchanged = size;
        auto written = pagecache::write(mapping, unchanged, offset, buffer, length);
        (void)file;
        return written;
    }
    Result<void> truncate(u64) override { return Error::from_errno(EINVAL); }
    u32 direct_io_alignment() const override { return m_device.limits().logical_block_size; }

    // O_DIRECT: bios straight from the caller's pages (kernel buffers in the
    // direct map), after writing back and dropping cached pages that overlap.
    Result<usize> direct_io(bool write, u64 offset, void* buffer, usize length) override
    {
        if (write && m_device.read_only())
            return Error::from_errno(EPERM);
        if (offset >= size || length == 0)
            return 0ul;
        length = static_cast<usize>(min<u64>(length, size - offset));
        TRY(pagecache::invalidate_range(mapping, offset, offset + length - 1));
        u8* bytes = static_cast<u8*>(buffer);
        usize done = 0;
        while (done < length) {
            // One bio per up to 64 pages of buffer.
            constexpr usize MAX_VECS = 64;
            block::BioVec vecs[MAX_VECS];
            u16 count = 0;
            usize bio_bytes = 0;
            while (done + bio_bytes < length && count < MAX_VECS) {
                u8* at = bytes + done + bio_bytes;
                const u32 in_page = reinterpret_cast<uptr>(at) % PAGE_SIZE;
                const u32 chunk = static_cast<u32>(min<usize>(PAGE_SIZE - in_page, length - done - bio_bytes));
                vecs[count++] = {mm::virt_to_page(at - in_page), in_page, chunk};
                bio_bytes += chunk;
            }
            block::Bio bio;
            block::bio_init(bio, write ? block::BioOp::Write : block::BioOp::Read, (offset + done) >> block::SECTOR_SHIFT,
                            vecs, count);
            bio.device = &m_device;
            bio.flags |= block::BIO_SYNC;
            const int error = block::submit_bio_wait(bio);
            if (error) {
                if (done > 0)
                    break;
                return Error::from_errno(error);
            }
            done += bio_bytes;
        }
        return done;
    }

private:
    block::BlockDevice& m_device;
};

class CharDeviceInode final : public vfs::Inode {
public:
    enum class Kind { Null, Zero, Console };
    CharDeviceInode(vfs::SuperBlock& superblock_, u64 number_, Kind kind, u32 minor)
        : Inode(superblock_, number_, S_IFCHR | 0666, nullptr, nullptr), m_kind(kind)
    {
        rdev = make_device_number(kind == Kind::Console ? 5 : 1, minor);
    }
    Result<usize> read(vfs::File&, u64, void* buffer, usize length) override
    {
        if (m_kind == Kind::Zero) {
            memset(buffer, 0, length);
            return length;
        }
        return 0ul;
    }
    Result<usize> write(vfs::File&, u64, const void* buffer, usize length) override
    {
        if (m_kind == Kind::Console)
            serial::write(static_cast<const char*>(buffer), length);
        return length;
    }
    Result<void> truncate(u64) override { return {}; }
    Result<void> fsync(bool) override { return {}; }

private:
    Kind m_kind;
};

constexpr usize MAX_DEVICE_INODES = block::MAX_BLOCK_DEVICES;
struct {
    block::BlockDevice* device;
    BlockDeviceInode* inode;
} g_device_inodes[MAX_DEVICE_INODES];
u64 g_next_number = 1;

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
        {"null", CharDeviceInode::Kind::Null, 3},
        {"zero", CharDeviceInode::Kind::Zero, 5},
        {"console", CharDeviceInode::Kind::Console, 1},
    };
    for (const CharDevice& device : CHAR_DEVICES) {
        auto* inode = new CharDeviceInode(*superblock, 1000 + device.minor, device.kind, device.minor);
        if (!inode)
            return Error::from_errno(ENOMEM);
        TRY(root->attach(StringView(device.name), inode));
    }
    for (usize i = 0; i < block::device_count(); i++) {
        block::BlockDevice* device = block::device_at(i);
        vfs::Inode* inode = TRY(vfs::block_device_inode(*device));
        TRY(root->attach(StringView(device->name()), inode));
    }
    return superblock;
}

const vfs::FileSystemType g_devfs_type = {"devfs", mount_devfs};

} // namespace

void register_filesystem() { vfs::register_filesystem(g_devfs_type); }

} // namespace devfs

namespace vfs {

Result<Inode*> block_device_inode(block::BlockDevice& device)
{
    for (auto& slot : devfs::g_device_inodes) {
        if (slot.device == &device)
            return static_cast<Inode*>(slot.inode);
    }
    for (auto& slot : devfs::g_device_inodes) {
        if (!slot.device) {
            auto* inode = new devfs::BlockDeviceInode(device, devfs::g_next_number++);
            if (!inode)
                return Error::from_errno(ENOMEM);
            slot.device = &device;
            slot.inode = inode;
            return static_cast<Inode*>(inode);
        }
    }
    return Error::from_errno(ENOMEM);
}

} // namespace vfs
