// ext2 in the kernel: the VFS glue around fs/ext2/FileSystem.
//
// - Metadata (superblock, descriptors, bitmaps, inode tables, directories,
//   indirect blocks, slow symlinks) lives in the block device's own page
//   cache (fs/pagecache/BlockDeviceMapping.h): KernelBlockCache pins its pages
//   while the ext2 code looks at them. Dirtiness is per filesystem block
//   (set_page_dirty_range), not per page: with blocks smaller than a page, one
//   page may hold metadata next to a block just reused for file data, and
//   writing the whole page would put a stale copy over that data (Linux avoids
//   the same hazard with buffer heads). A block that becomes file data is
//   forgotten (forget_dirty). The device's writeback thread writes metadata
//   like any dirty page; sync writes and flushes it now.
// - File data goes through each file's own page cache; map_blocks() asks the
//   ext2 code where blocks are, and prepare_write() allocates them before a
//   buffered write so that ENOSPC reaches write().
// - One mutex per filesystem serialises every call into the ext2 code.
#include "fs/ext2/Ext2Vfs.h"

#include "fs/ext2/FileSystem.h"
#include "fs/pagecache/BlockDeviceMapping.h"
#include "fs/pagecache/PageCache.h"
#include "fs/pagecache/PageWait.h"
#include "fs/pagecache/Writeback.h"
#include "fs/vfs/Vfs.h"
#include "kernel/block/BlockDevice.h"
#include "kernel/lib/Own.h"
#include "kernel/lib/String.h"
#include "kernel/log/Log.h"
#include "kernel/mm/Heap.h"
#include "kernel/mm/PageAllocator.h"
#include "kernel/time/Clock.h"

namespace ext2 {

namespace {

// Wall-clock seconds: there is no RTC driver yet, so time starts at a fixed
// epoch (2024-01-01) plus the time since boot.
u32 clock_seconds() { return 1704067200u + static_cast<u32>(clock_ns() / 1'000'000'000ul); }

const RadixTreeAllocator g_inode_table_allocator = {
    [](usize size) { return kmalloc(size); },
    [](void* pointer) { kfree(pointer); },
};

class KernelBlockCache final : public BlockCache {
public:
    explicit KernelBlockCache(pagecache::Mapping& device_space)
        : m_space(device_space)
    {
    }

    u32 block_size() const override { return m_block_size; }
    Result<void> set_block_size(u32 size) override
    {
        if (size < 512 || size > PAGE_SIZE || (size & (size - 1)))
            return Error::from_errno(EINVAL);
        m_block_size = size;
        return {};
    }
    u64 device_size_bytes() const override { return m_space.size_bytes(); }

    Result<BlockRef> read(u64 block) override
    {
        const u64 byte = block * m_block_size;
        if (byte + m_block_size > m_space.size_bytes())
            return Error::from_errno(EIO);
        Page* page = TRY(pagecache::read_cache_page(m_space, byte >> PAGE_SHIFT));
        u8* data = static_cast<u8*>(mm::page_address(page)) + (byte & (PAGE_SIZE - 1));
        return BlockRef(this, block, data, page);
    }

    Result<BlockRef> zeroed(u64 block) override
    {
        BlockRef ref = TRY(read(block));
        memset(ref.data(), 0, m_block_size);
        ref.mark_dirty();
        return ref;
    }

    // Dirty metadata blocks go out with the device's writeback (periodically,
    // or now for a sync), each block on its own: see the comment at the top.
    Result<void> sync() override
    {
        TRY(pagecache::write_and_wait_range(m_space, 0, ~0ul));
        return pagecache::flush_device(*m_space.device());
    }

    void mark_dirty(BlockRef& ref) override
    {
        const u64 byte = ref.block() * m_block_size;
        m_space.set_page_dirty_range(
            *static_cast<Page*>(ref.cookie()), static_cast<u32>(byte & (PAGE_SIZE - 1)), m_block_size);
    }
    void release(BlockRef& ref) override { pagecache::put_page(*static_cast<Page*>(ref.cookie())); }

    // `block` now holds file data: its cached metadata copy must never be written.
    void forget(u64 block) { m_space.forget_dirty(block * m_block_size, m_block_size); }

private:
    pagecache::Mapping& m_space;
    u32 m_block_size = MIN_BLOCK_SIZE;
};

class Ext2Inode;

class FileBlocks final : public pagecache::MappingOperations {
public:
    Result<pagecache::BlockMapping> map_blocks(pagecache::Mapping& space, u64 block, u64 max_blocks, bool create) override;
    Result<u64> prepare_write(pagecache::Mapping& space, u64 pos, u64 length) override;
    void write_failed(pagecache::Mapping& space) override;
};
FileBlocks g_file_blocks;

struct Ext2Mount final : vfs::SuperBlock {
    Ext2Mount(block::BlockDevice& device_, pagecache::Mapping& device_space)
        : device(device_)
        , cache(device_space)
        , fs(cache, clock_seconds)
        , inodes(g_inode_table_allocator)
    {
    }

    // Destroyed after unmount() (umount(2); the VFS freed every dentry and
    // no file is open), or after a mount that failed part-way, which lets
    // the device go and leaves the filesystem marked as it found it.
    ~Ext2Mount() override;

    Result<Ext2Inode*> get_inode(u32 number);
    Result<void> sync() override;
    void stats(vfs::FsStats& out) override
    {
        MutexGuard guard(lock);
        const ext2::SuperBlock& super = fs.superblock();
        out.magic = 0xef53; // EXT2_SUPER_MAGIC
        out.block_size = fs.block_size();
        // Linux's ext2_statfs (minixdf off): the metadata overhead is not counted.
        out.blocks = super.s_blocks_count - super.s_first_data_block;
        out.free_blocks = fs.free_blocks();
        out.available_blocks = out.free_blocks > super.s_r_blocks_count ? out.free_blocks - super.s_r_blocks_count : 0;
        out.files = super.s_inodes_count;
        out.free_files = fs.free_inodes();
    }
    Result<void> unmount() override;

    block::BlockDevice& device;
    KernelBlockCache cache;
    FileSystem fs;
    Mutex lock{ LockRank::MutexFilesystem, "ext2" };
    // Held while an Ext2Inode is destroyed and while sync() walks `inodes`
    // outside `lock` (taken before `lock`, after the namespace mutex).
    Mutex lifetime_lock{ LockRank::MutexFilesystem, "ext2 inode lifetime" };
    RadixTree inodes; // number -> Ext2Inode*, under `lock`
    bool claimed = false; // holds the device (BlockDevice::claim)
};

u8 dirent_type(u8 file_type)
{
    static constexpr u8 TYPES[] = { DT_UNKNOWN, DT_REG, DT_DIR, DT_CHR, DT_BLK, DT_FIFO, DT_SOCK, DT_LNK };
    return file_type < ARRAY_SIZE(TYPES) ? TYPES[file_type] : DT_UNKNOWN;
}

class Ext2Inode final : public vfs::Inode {
public:
    Ext2Inode(Ext2Mount& mount, const ext2::Inode& disk_inode)
        : Inode(mount, disk_inode.number, disk_inode.disk.i_mode)
        , m_mount(mount)
        , disk(disk_inode)
        , m_space(g_file_blocks, &mount.device, mount.fs.block_size(), this)
    {
        sync_from_disk();
        if (is_regular())
            mapping = &m_space;
    }
    ~Ext2Inode() override { m_space.release(); }

    void sync_from_disk()
    {
        mode = disk.disk.i_mode;
        links = disk.disk.i_links_count;
        size = disk.size();
        uid = disk.disk.i_uid | (static_cast<u32>(disk.disk.l_i_uid_high) << 16);
        gid = disk.disk.i_gid | (static_cast<u32>(disk.disk.l_i_gid_high) << 16);
        atime = disk.disk.i_atime;
        mtime = disk.disk.i_mtime;
        ctime = disk.disk.i_ctime;
        m_space.set_size_bytes(size);
    }
    // Reread after an ext2 call that changed this inode behind our copy.
    void refresh()
    {
        if (m_mount.fs.read_inode(disk.number, disk).is_error())
            return;
        sync_from_disk();
    }

    Result<Inode*> lookup(StringView name) override
    {
        MutexGuard guard(m_mount.lock);
        const u32 number = TRY(m_mount.fs.lookup(disk, name));
        return static_cast<Inode*>(TRY(m_mount.get_inode(number)));
    }

    Result<Inode*> adopt(const ext2::Inode& created)
    {
        sync_from_disk();
        Ext2Inode* inode = TRY(m_mount.get_inode(created.number));
        inode->disk = created;
        inode->sync_from_disk();
        return static_cast<Inode*>(inode);
    }

    Result<Inode*> create(StringView name, u32 new_mode) override
    {
        MutexGuard guard(m_mount.lock);
        ext2::Inode created;
        TRY(m_mount.fs.create(disk, name, static_cast<u16>(new_mode), created));
        return adopt(created);
    }
    Result<Inode*> mkdir(StringView name, u32 new_mode) override
    {
        MutexGuard guard(m_mount.lock);
        ext2::Inode created;
        TRY(m_mount.fs.mkdir(disk, name, static_cast<u16>(new_mode), created));
        return adopt(created);
    }
    Result<Inode*> symlink(StringView name, StringView target) override
    {
        MutexGuard guard(m_mount.lock);
        ext2::Inode created;
        TRY(m_mount.fs.symlink(disk, name, target, created));
        return adopt(created);
    }
    Result<void> link(StringView name, Inode& target) override
    {
        if (&target.superblock != &superblock)
            return Error::from_errno(EXDEV);
        MutexGuard guard(m_mount.lock);
        auto& existing = static_cast<Ext2Inode&>(target);
        TRY(m_mount.fs.link(disk, name, existing.disk));
        existing.sync_from_disk();
        sync_from_disk();
        return {};
    }
    Result<void> unlink(StringView name, Inode& victim) override
    {
        MutexGuard guard(m_mount.lock);
        auto& target = static_cast<Ext2Inode&>(victim);
        TRY(m_mount.fs.unlink(disk, name, target.disk));
        target.sync_from_disk();
        sync_from_disk();
        return {};
    }
    Result<void> rmdir(StringView name, Inode& victim) override
    {
        MutexGuard guard(m_mount.lock);
        auto& target = static_cast<Ext2Inode&>(victim);
        TRY(m_mount.fs.rmdir(disk, name, target.disk));
        target.sync_from_disk();
        sync_from_disk();
        return {};
    }
    Result<void> rename(StringView old_name, Inode& new_directory, StringView new_name) override
    {
        if (&new_directory.superblock != &superblock)
            return Error::from_errno(EXDEV);
        MutexGuard guard(m_mount.lock);
        auto& target_dir = static_cast<Ext2Inode&>(new_directory);
        const u32 moving = TRY(m_mount.fs.lookup(disk, old_name));
        ext2::Inode replaced;
        TRY(m_mount.fs.rename(disk, old_name, target_dir.disk, new_name, replaced));
        refresh();
        target_dir.refresh();
        if (Ext2Inode* moved = static_cast<Ext2Inode*>(m_mount.inodes.lookup(moving)))
            moved->refresh();
        if (replaced.number) {
            if (Ext2Inode* old = static_cast<Ext2Inode*>(m_mount.inodes.lookup(replaced.number))) {
                old->disk = replaced;
                old->sync_from_disk();
            }
        }
        return {};
    }
    Result<bool> readdir(u64& cursor, vfs::DirEntry& out) override
    {
        MutexGuard guard(m_mount.lock);
        DirEntryInfo info;
        const bool more = TRY(m_mount.fs.read_dir(disk, cursor, info));
        if (!more)
            return false;
        out.inode = info.inode;
        out.type = dirent_type(info.file_type);
        out.name_length = info.name_length;
        memcpy(out.name, info.name, info.name_length + 1);
        return true;
    }
    Result<usize> readlink(char* buffer, usize capacity) override
    {
        MutexGuard guard(m_mount.lock);
        return m_mount.fs.read_link(disk, buffer, capacity);
    }

    Result<void> setattr(const vfs::SetAttr& attributes) override
    {
        if (m_mount.fs.is_read_only())
            return Error::from_errno(EROFS);
        return Inode::setattr(attributes);
    }

    // Mode, owner (32-bit ids split into low and high halves, ext2-doc
    // §3.5 i_uid / l_i_uid_high) and times into the on-disk inode.
    Result<void> attributes_changed() override
    {
        MutexGuard guard(m_mount.lock);
        disk.disk.i_mode = static_cast<u16>(mode);
        disk.disk.i_uid = static_cast<u16>(uid);
        disk.disk.l_i_uid_high = static_cast<u16>(uid >> 16);
        disk.disk.i_gid = static_cast<u16>(gid);
        disk.disk.l_i_gid_high = static_cast<u16>(gid >> 16);
        disk.disk.i_atime = static_cast<u32>(atime);
        disk.disk.i_mtime = static_cast<u32>(mtime);
        disk.disk.i_ctime = static_cast<u32>(ctime);
        return m_mount.fs.write_inode(disk);
    }

    // Linux's ext2 directories seek with generic_file_llseek: SEEK_END is
    // the directory's size. The cursor is a byte offset that read_dir
    // resynchronises from the start of its block.
    Result<u64> llseek(vfs::File& file, i64 offset, int whence) override
    {
        if (!is_directory())
            return Inode::llseek(file, offset, whence);
        file.position = file.dir_cursor;
        const u64 position = TRY(vfs::generic_llseek(file, offset, whence, size));
        file.dir_cursor = position;
        return position;
    }

    Result<void> size_changed() override
    {
        MutexGuard guard(m_mount.lock);
        return m_mount.fs.update_size(disk, size);
    }

    Result<void> truncate(u64 new_size) override
    {
        if (is_directory())
            return Error::from_errno(EISDIR);
        if (!is_regular())
            return Error::from_errno(EINVAL);
        if (new_size < size && (new_size & (PAGE_SIZE - 1))) {
            // The page holding the new end is cached, so truncate_pages zeroes
            // its tail and writes it: a later extension must read zeros there.
            Page* page = TRY(pagecache::read_cache_page(m_space, new_size >> PAGE_SHIFT));
            pagecache::put_page(*page);
        }
        pagecache::truncate_pages(m_space, new_size);
        MutexGuard guard(m_mount.lock);
        TRY(m_mount.fs.truncate(disk, new_size, false));
        sync_from_disk();
        return {};
    }

    Result<void> fsync(bool) override
    {
        TRY(pagecache::write_and_wait_range(m_space, 0, ~0ul));
        // ext2 keeps no per-file list of metadata blocks: write them all.
        MutexGuard guard(m_mount.lock);
        return m_mount.fs.sync();
    }

    // The last link and the last open file are gone (namespace mutex held):
    // free the inode on disk, then the object (Linux's iput -> evict).
    void evict() override
    {
        pagecache::truncate_pages(m_space, 0);
        Ext2Mount& mount = m_mount;
        MutexGuard lifetime(mount.lifetime_lock);
        {
            MutexGuard guard(mount.lock);
            if (disk.disk.i_links_count != 0)
                return;
            auto released = mount.fs.release(disk);
            if (released.is_error())
                log_error("ext2", "freeing inode %u: errno %d", disk.number, released.error().code());
            mount.inodes.erase(disk.number);
        }
        delete this; // no dentry, no file, not in the table: nothing reaches it
    }

    // Unnamed and unopened (the name cache let it go): the on-disk inode is
    // current (every change is written at once), so the object can go unless
    // its page cache still has data to write.
    bool drop_unused() override
    {
        if (m_space.any_tagged(RadixTree::TAG_DIRTY) || m_space.any_tagged(RadixTree::TAG_WRITEBACK))
            return false;
        Ext2Mount& mount = m_mount;
        MutexGuard lifetime(mount.lifetime_lock);
        {
            MutexGuard guard(mount.lock);
            if (this == mount.root) // named by the mount itself
                return false;
            mount.inodes.erase(disk.number);
        }
        delete this; // its pages go with it (~Ext2Inode releases the mapping)
        return true;
    }

    void fill_stat(vfs::Stat& out) override
    {
        Inode::fill_stat(out);
        out.blocks = disk.disk.i_blocks;
        out.block_size = m_mount.fs.block_size();
    }

    Ext2Mount& m_mount;
    ext2::Inode disk;
    pagecache::Mapping m_space;
};

Result<Ext2Inode*> Ext2Mount::get_inode(u32 number)
{
    if (auto* cached = static_cast<Ext2Inode*>(inodes.lookup(number)))
        return cached;
    ext2::Inode disk_inode;
    TRY(fs.read_inode(number, disk_inode));
    if (disk_inode.disk.i_links_count == 0)
        return Error::from_errno(EIO); // a directory entry naming a free inode
    auto* inode = new (nothrow) Ext2Inode(*this, disk_inode);
    if (!inode)
        return Error::from_errno(ENOMEM);
    auto inserted = inodes.insert(number, inode);
    if (inserted.is_error()) {
        delete inode;
        return inserted.error();
    }
    return inode;
}

Result<pagecache::BlockMapping> FileBlocks::map_blocks(pagecache::Mapping& space, u64 block, u64 max_blocks, bool create)
{
    auto& inode = *static_cast<Ext2Inode*>(space.host());
    Ext2Mount& mount = inode.m_mount;
    MutexGuard guard(mount.lock);
    bool fresh = false;
    const u32 first = TRY(mount.fs.map_block(inode.disk, block, create, &fresh));
    if (fresh)
        mount.cache.forget(first);
    // How many following blocks continue the run (contiguous, or all holes);
    // looked up without allocating.
    constexpr u64 MAX_RUN = 256;
    u64 run = 1;
    const u64 limit = min(max(max_blocks, 1ul), MAX_RUN);
    while (run < limit) {
        auto next = mount.fs.map_block(inode.disk, block + run, false);
        if (next.is_error())
            break;
        if (first == 0 ? next.value() != 0 : next.value() != first + run)
            break;
        run++;
    }
    if (first == 0)
        return pagecache::BlockMapping{ pagecache::BlockMapping::HOLE, run };
    const u64 sectors_per_block = mount.fs.block_size() / block::SECTOR_SIZE;
    return pagecache::BlockMapping{ static_cast<u64>(first) * sectors_per_block, run };
}

// Blocks for [pos, pos + length), allocated one at a time in file order so
// that running out part-way leaves a prefix ready: the write is then short
// (Linux), and buffered_write calls write_failed to release what lies past
// the final end of the file.
//
// A block allocated here holds whatever the disk had (a freed block's old
// data). Where it lies below the end of the file (a hole being filled) it is
// zeroed in the page cache before the caller's data goes in: the bytes of it
// the write does not cover, or all of it if the write stops before reaching
// it, must read as zeros, and the page's read-modify-write would otherwise
// fetch the stale bytes (Linux zeroes new buffers in block_write_begin for
// the same reason). Past the end of the file nothing needs zeroing: pages
// there start zeroed and reads stop at the size.
Result<u64> FileBlocks::prepare_write(pagecache::Mapping& space, u64 pos, u64 length)
{
    if (length == 0)
        return 0ul;
    auto& inode = *static_cast<Ext2Inode*>(space.host());
    Ext2Mount& mount = inode.m_mount;
    if (pos >= mount.fs.max_file_size() || length > mount.fs.max_file_size() - pos)
        return Error::from_errno(EFBIG);
    const u32 block_size = mount.fs.block_size();
    const u64 first = pos / block_size, last = (pos + length - 1) / block_size;
    static const u8 ZEROS[4096] = {};
    for (u64 block = first; block <= last; block++) {
        bool fresh = false;
        {
            MutexGuard guard(mount.lock);
            auto mapped = mount.fs.map_block(inode.disk, block, true, &fresh);
            if (mapped.is_error()) {
                if (block == first)
                    return mapped.error();
                return block * block_size - pos; // the blocks before this one are ready
            }
            if (fresh)
                mount.cache.forget(mapped.value());
        }
        const u64 start = block * block_size, end = min(start + block_size, space.size_bytes());
        if (!fresh || start >= end)
            continue;
        // Within the file's size and within allocated blocks: no recursion
        // into allocation, no change of size.
        const usize n = static_cast<usize>(end - start);
        const usize written = TRY(pagecache::buffered_write(space, start, ZEROS, n));
        if (written != n)
            return Error::from_errno(EIO);
    }
    return length;
}

void FileBlocks::write_failed(pagecache::Mapping& space)
{
    auto& inode = *static_cast<Ext2Inode*>(space.host());
    Ext2Mount& mount = inode.m_mount;
    MutexGuard guard(mount.lock);
    auto freed = mount.fs.free_blocks_past(inode.disk, space.size_bytes());
    if (freed.is_error())
        log_error("ext2", "inode %u: freeing blocks past a short write: errno %d", inode.disk.number,
            freed.error().code());
}

Ext2Mount::~Ext2Mount()
{
    if (claimed)
        device.unclaim();
    {
        MutexGuard guard(lock);
        (void)fs.unmount(); // nothing to do unless mounted and not unmounted since
    }
    // The inodes the table still holds (cached ones; none is open).
    u64 number;
    while (auto* inode = static_cast<Ext2Inode*>(inodes.find_next(0, number))) {
        inodes.erase(number);
        delete inode;
    }
}

Result<void> Ext2Mount::sync()
{
    // File data first (it may allocate nothing now: blocks were allocated at
    // write time), then all metadata, then a device flush. No inode is
    // destroyed while the walk looks at it.
    MutexGuard lifetime(lifetime_lock);
    Result<void> status;
    u64 at = 0;
    u64 number;
    for (;;) {
        Ext2Inode* inode;
        {
            MutexGuard guard(lock);
            inode = static_cast<Ext2Inode*>(inodes.find_next(at, number));
        }
        if (!inode)
            break;
        auto written = pagecache::write_and_wait_range(inode->m_space, 0, ~0ul);
        if (written.is_error() && !status.is_error())
            status = written.error();
        at = number + 1;
    }
    MutexGuard guard(lock);
    auto synced = fs.sync();
    if (synced.is_error() && !status.is_error())
        status = synced.error();
    return status;
}

Result<void> Ext2Mount::unmount()
{
    TRY(sync());
    MutexGuard guard(lock);
    TRY(fs.unmount());
    device.unclaim(); // the device may be removed again
    claimed = false;
    return {};
}

Result<vfs::SuperBlock*> mount_ext2(StringView source, u32 flags, char* message, usize message_size)
{
    StringView name = source;
    if (name.starts_with("/dev/"))
        name = name.substring(5);
    block::BlockDevice* device = block::find_device(name);
    if (!device)
        return Error::from_errno(ENODEV);
    vfs::Inode* device_inode = TRY(vfs::block_device_inode(*device));
    pagecache::Mapping* device_space = TRY(pagecache::block_device_mapping(*device));
    // Owned before the first failure: ~Ext2Mount undoes what was done.
    auto mount = TRY(adopt_own_or_enomem(new (nothrow) Ext2Mount(*device, *device_space)));
    u32 mount_flags = flags;
    if (device->read_only())
        mount_flags |= MOUNT_READ_ONLY;
    Result<void> mounted;
    {
        MutexGuard guard(mount->lock);
        mounted = mount->fs.mount(mount_flags);
    }
    const usize length = min(strlen(mount->fs.message()), message_size - 1);
    memcpy(message, mount->fs.message(), length);
    message[length] = 0;
    // A mounted device cannot be removed (kernel/block/DeviceRemoval.h).
    if (!mounted.is_error()) {
        mounted = device->claim();
        mount->claimed = !mounted.is_error();
    }
    if (mounted.is_error())
        return mounted.error();
    mount->device_number = device_inode->rdev;
    Ext2Inode* root;
    {
        MutexGuard guard(mount->lock);
        root = TRY(mount->get_inode(ROOT_INO));
    }
    mount->root = root;
    log_info("ext2", "%s: %u-byte blocks, %u groups, %lu free blocks, %lu free inodes%s", device->name(),
        mount->fs.block_size(), mount->fs.group_count(), mount->fs.free_blocks(), mount->fs.free_inodes(),
        mount->fs.is_read_only() ? ", read-only" : "");
    mount->read_only = mount->fs.is_read_only();
    mount->max_file_size = mount->fs.max_file_size();
    mount->names_reclaimable = true; // every name and inode can be read back
    return static_cast<vfs::SuperBlock*>(mount.leak());
}

const vfs::FileSystemType g_ext2_type = { "ext2", mount_ext2 };

} // namespace

void register_filesystem() { vfs::register_filesystem(g_ext2_type); }

} // namespace ext2
