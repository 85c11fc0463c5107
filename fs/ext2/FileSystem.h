// ext2 (revision 0/1, 1-4 KiB blocks) over a BlockCache: mount checks,
// inodes, block mapping through direct/indirect/double/triple indirect blocks,
// bitmap allocation with exact free counts, directories, and the namespace
// operations the VFS maps its InodeOperations onto.
//
// Concurrency: one operation at a time per filesystem. The kernel glue holds
// the filesystem's mutex around every call (metadata of different files shares
// bitmap, group descriptor and inode table blocks). File data goes through the
// page cache, which only needs map_block(); read()/write() here serve
// directories, symlinks and host tests.
//
// Every operation that changes an inode writes it back to its inode table
// block before returning, so an Inode value is just a snapshot the caller keeps
// and passes back in.
#pragma once

#include "fs/ext2/BlockCache.h"
#include "fs/ext2/Format.h"
#include "kernel/lib/Result.h"
#include "kernel/lib/StringView.h"

namespace ext2 {

struct Inode {
    u32 number = 0;
    DiskInode disk{};

    u16 type() const { return disk.i_mode & MODE_TYPE_MASK; }
    bool is_directory() const { return type() == MODE_DIRECTORY; }
    bool is_regular() const { return type() == MODE_REGULAR; }
    bool is_symlink() const { return type() == MODE_SYMLINK; }
    u64 size() const
    {
        // The high half is a size only for regular files (large_file); for
        // directories it was the directory ACL and is 0.
        return disk.i_size | (is_regular() ? static_cast<u64>(disk.i_size_high) << 32 : 0);
    }
};

// One entry as getdents sees it.
struct DirEntryInfo {
    u32 inode;
    u8 file_type; // FileType; FT_UNKNOWN without the filetype feature
    u8 name_length;
    char name[MAX_NAME_LENGTH + 1]; // NUL-terminated copy
};

// The largest file size of an ext2 filesystem with `block_size`-byte blocks,
// as Linux's ext2_max_size (fs/ext2/super.c): the smaller of what the block
// tree addresses (12 direct + p + p^2 + p^3 blocks, p = block_size / 4) and
// what a 32-bit i_blocks (512-byte units, data and indirect blocks together)
// can count, less the indirect blocks that data would need.
u64 max_file_size(u32 block_size);

enum MountFlags : u32 {
    MOUNT_READ_ONLY = 1 << 0,
};

class FileSystem {
public:
    using Clock = u32 (*)(); // seconds since the epoch, for timestamps

    FileSystem(BlockCache& cache, Clock clock)
        : m_cache(cache)
        , m_clock(clock)
    {
    }
    FileSystem(const FileSystem&) = delete;
    FileSystem& operator=(const FileSystem&) = delete;

    // Read and check the superblock and group descriptors. Refuses (EINVAL)
    // a filesystem with an unsupported incompat feature; mounts read-only one
    // with an unknown ro_compat feature. message() says why, naming features.
    Result<void> mount(u32 flags);
    // Mark the filesystem clean, write everything, flush the device.
    Result<void> unmount();
    // Write everything (superblock counters included) and flush the device.
    Result<void> sync();
    const char* message() const { return m_message; }

    bool is_read_only() const { return m_read_only; }
    u32 block_size() const { return m_block_size; }
    // Writes and truncations past it are EFBIG (Linux's s_maxbytes).
    u64 max_file_size() const { return m_max_file_size; }
    u32 group_count() const { return m_group_count; }
    const SuperBlock& superblock() const { return m_super; }
    u64 free_blocks() const { return m_super.s_free_blocks_count; }
    u64 free_inodes() const { return m_super.s_free_inodes_count; }
    // Whether group `group` holds a copy of the superblock and descriptors
    // (all groups, or with sparse_super only 0, 1 and powers of 3, 5 and 7).
    bool group_has_superblock(u32 group) const;

    // Inodes.
    Result<void> read_inode(u32 number, Inode& out);
    Result<void> write_inode(const Inode& inode);

    // The device block holding file block `file_block`; 0 for a hole when
    // !allocate. With allocate, missing data and indirect blocks are allocated
    // (indirect ones zeroed) and the inode written; `*fresh` says whether the
    // data block is new (its contents are then undefined: the caller fills it).
    Result<u32> map_block(Inode& inode, u64 file_block, bool allocate, bool* fresh = nullptr);

    // Byte-level file access through the block cache.
    Result<usize> read(Inode& inode, u64 offset, void* buffer, usize length);
    Result<usize> write(Inode& inode, u64 offset, const void* buffer, usize length);
    // Shrink (freeing blocks and emptied indirect blocks) or grow (a hole).
    // `zero_tail`: zero the rest of the new last block through the block
    // cache (the kernel passes false: that block's bytes live in the file's
    // page cache, which zeroes and writes them itself).
    Result<void> truncate(Inode& inode, u64 new_size, bool zero_tail = true);
    // A write through the page cache grew the file to `size`: record it
    // (and large_file when needed), with the modification time.
    Result<void> update_size(Inode& inode, u64 size);

    // Directories.
    Result<u32> lookup(Inode& directory, StringView name, u8* file_type = nullptr);
    // The entry at or after byte `offset`; advances `offset` past it. False at the end.
    Result<bool> read_dir(Inode& directory, u64& offset, DirEntryInfo& out);
    Result<bool> is_empty_directory(Inode& directory);

    // Namespace operations: create a regular file, a directory, a symlink, a
    // device node... (`mode` includes the type bits). EEXIST, ENAMETOOLONG,
    // ENOSPC, EROFS as Linux returns them.
    Result<void> create(Inode& directory, StringView name, u16 mode, Inode& out);
    Result<void> mkdir(Inode& directory, StringView name, u16 mode, Inode& out);
    Result<void> symlink(Inode& directory, StringView name, StringView target, Inode& out);
    Result<void> link(Inode& directory, StringView name, Inode& target);
    // Remove a non-directory name (EISDIR for a directory). The inode's link
    // count drops; `victim` gets its new state. Free it with release() once no
    // one has it open (the VFS knows; immediately otherwise).
    Result<void> unlink(Inode& directory, StringView name, Inode& victim);
    // Remove an empty directory (ENOTDIR, ENOTEMPTY).
    Result<void> rmdir(Inode& directory, StringView name, Inode& victim);
    // rename(2): replaces an existing target as Linux does (EISDIR, ENOTDIR,
    // ENOTEMPTY, EINVAL for a directory moved below itself). `replaced` gets
    // the overwritten inode if there was one (number 0 otherwise), for release().
    Result<void> rename(Inode& old_directory, StringView old_name, Inode& new_directory, StringView new_name,
        Inode& replaced);
    // Free every block that maps bytes at or past `size` (a write that
    // allocated ahead and then stopped short); the size itself is unchanged.
    Result<void> free_blocks_past(Inode& inode, u64 size);
    // Free an inode whose link count reached 0: its blocks, its xattr block, its number.
    Result<void> release(Inode& inode);
    // A symlink's target; ENAMETOOLONG if it does not fit in `capacity`.
    Result<usize> read_link(Inode& inode, char* buffer, usize capacity);

private:
    friend class Checker;

    // Geometry.
    u32 group_of_inode(u32 number) const { return (number - 1) / m_super.s_inodes_per_group; }
    u32 group_of_block(u32 block) const
    {
        return (block - m_super.s_first_data_block) / m_super.s_blocks_per_group;
    }
    u32 blocks_in_group(u32 group) const;
    u64 pointers_per_block() const { return m_block_size / sizeof(u32); }
    u32 sectors_per_block() const { return m_block_size / 512; }

    Result<void> load_superblock();
    Result<void> write_superblock();
    // The descriptor of `group`, pinned in its GDT block.
    Result<BlockRef> group_descriptor(u32 group, GroupDescriptor*& out);
    Result<BlockRef> inode_slot(u32 number, DiskInode*& out);

    // Allocation (Allocator.cpp).
    Result<u32> allocate_block(u32 goal);
    Result<void> free_block(u32 block);
    Result<u32> allocate_inode(u32 parent_group, bool directory);
    Result<void> free_inode(u32 number, bool directory);
    // A block for `inode`'s file block `file_block`: near its neighbours.
    u32 block_goal(const Inode& inode, u64 file_block) const;

    // Block map (BlockMap.cpp).
    Result<void> truncate_blocks(Inode& inode, u64 first_free_block);
    Result<bool> free_branch(Inode& inode, u32 block, unsigned depth, u64 first_free, u64 branch_start);

    // Directory entries (Directory.cpp).
    Result<void> add_entry(Inode& directory, StringView name, u32 number, u8 file_type);
    Result<void> remove_entry(Inode& directory, StringView name);
    Result<void> set_entry(Inode& directory, StringView name, u32 number, u8 file_type);
    Result<void> touch_directory(Inode& directory);
    u8 entry_file_type(u16 mode) const;

    // Inode lifecycle (Operations.cpp).
    Result<void> new_inode(Inode& directory, u16 mode, Inode& out);
    Result<void> check_writable() const;
    Result<void> check_name(StringView name) const;
    // The checks every new directory entry starts with: a writable mount, a
    // directory to put it in (ENOTDIR), a valid name.
    Result<void> check_new_entry_directory(Inode& directory, StringView name) const;
    // EEXIST when `name` is already in `directory`; lookup errors other than ENOENT pass through.
    Result<void> check_name_is_free(Inode& directory, StringView name);
    Result<bool> is_ancestor(u32 ancestor, Inode& directory);
    void set_size(Inode& inode, u64 size);
    Result<void> note_large_file(u64 size);

    u32 now() const { return m_clock ? m_clock() : 0; }

    BlockCache& m_cache;
    Clock m_clock;
    SuperBlock m_super{};
    u32 m_block_size = 0;
    u64 m_max_file_size = 0;
    u32 m_inode_size = 0;
    u32 m_first_inode = 0;
    u32 m_group_count = 0;
    u32 m_gdt_block = 0; // first block of the group descriptor table
    u32 m_last_alloc_group = 0; // where the last directory went (spreads directories)
    bool m_read_only = false;
    bool m_mounted = false;
    char m_message[160] = {};
};

} // namespace ext2
