// ext2 block mapping [ext2-doc §3.5.13 i_block]: 12 direct pointers, then one
// indirect, one double-indirect and one triple-indirect block, each indirect
// block an array of block_size/4 little-endian block numbers (0: a hole).
// i_blocks counts every block the file owns, indirect ones included, in
// 512-byte units.
#include "fs/ext2/FileSystem.h"

#include "kernel/lib/String.h"

namespace ext2 {

namespace {

// Where file block `file_block` lives: which i_block slot starts the chain,
// how many indirect levels follow, and the index at each level.
struct BlockPath {
    u32 root_slot;
    unsigned depth; // 0: direct
    u64 offsets[3];
};

bool block_path(u64 file_block, u64 per_block, BlockPath& path)
{
    if (file_block < NDIR_BLOCKS) {
        path = { static_cast<u32>(file_block), 0, {} };
        return true;
    }
    file_block -= NDIR_BLOCKS;
    if (file_block < per_block) {
        path = { IND_BLOCK, 1, { file_block } };
        return true;
    }
    file_block -= per_block;
    if (file_block < per_block * per_block) {
        path = { DIND_BLOCK, 2, { file_block / per_block, file_block % per_block } };
        return true;
    }
    file_block -= per_block * per_block;
    if (file_block < per_block * per_block * per_block) {
        path = { TIND_BLOCK, 3,
            { file_block / (per_block * per_block), (file_block / per_block) % per_block,
                file_block % per_block } };
        return true;
    }
    return false;
}

} // namespace

u64 max_file_size(u32 block_size)
{
    const u64 per_block = block_size / sizeof(u32);
    // Blocks the tree can address, and the indirect blocks it takes to
    // address them all.
    const u64 tree_blocks = NDIR_BLOCKS + per_block + per_block * per_block + per_block * per_block * per_block;
    const u64 tree_metadata = 1 + (1 + per_block) + (1 + per_block + per_block * per_block);
    // i_blocks is 32 bits of 512-byte units: at most this many blocks in all.
    const u64 countable = ((1ul << 32) - 1) / (block_size / 512);
    u64 blocks;
    if (tree_blocks + tree_metadata <= countable) {
        blocks = tree_blocks;
    } else {
        // i_blocks runs out first: take away the indirect blocks needed to
        // map that many data blocks.
        u64 rest = countable - NDIR_BLOCKS - per_block;
        u64 metadata = 1; // the indirect block
        if (rest < per_block * per_block) {
            metadata += 1 + (rest + per_block - 1) / per_block;
        } else {
            metadata += 1 + per_block; // the double-indirect tree, full
            rest -= per_block * per_block;
            metadata += 1 + (rest + per_block - 1) / per_block
                + (rest + per_block * per_block - 1) / (per_block * per_block);
        }
        blocks = countable - metadata;
    }
    constexpr u64 MAX_LFS_FILE_SIZE = 0x7fffffffffffffffull; // Linux's MAX_LFS_FILESIZE on 64-bit
    return min<u64>(blocks * block_size, MAX_LFS_FILE_SIZE);
}

Result<u32> FileSystem::map_block(Inode& inode, u64 file_block, bool allocate, bool* fresh)
{
    if (fresh)
        *fresh = false;
    BlockPath path;
    if (!block_path(file_block, pointers_per_block(), path))
        return Error::from_errno(EFBIG);
    if (allocate)
        TRY(check_writable());

    bool inode_changed = false;
    auto finish = [&](Result<u32> result) -> Result<u32> {
        if (inode_changed) {
            auto written = write_inode(inode);
            if (written.is_error() && !result.is_error())
                return written.error();
        }
        return result;
    };

    // A fresh block for the current level: indirect blocks are zeroed (a
    // zero entry is a hole), data blocks are left to the caller.
    u32 goal = block_goal(inode, file_block);
    auto allocate_at = [&](unsigned level) -> Result<u32> {
        const u32 block = TRY(allocate_block(goal));
        if (level < path.depth) {
            BlockRef ref = TRY(m_cache.zeroed(block));
        } else if (fresh) {
            *fresh = true;
        }
        inode.disk.i_blocks += sectors_per_block();
        inode_changed = true;
        goal = block + 1;
        return block;
    };

    if (path.depth == 0 && file_block > 0 && inode.disk.i_block[file_block - 1])
        goal = inode.disk.i_block[file_block - 1] + 1;
    u32 block = inode.disk.i_block[path.root_slot];
    if (block == 0) {
        if (!allocate)
            return 0u;
        auto allocated = allocate_at(0);
        if (allocated.is_error())
            return finish(allocated.error());
        block = allocated.value();
        inode.disk.i_block[path.root_slot] = block;
    }
    goal = block + 1;

    for (unsigned level = 0; level < path.depth; level++) {
        auto ref = m_cache.read(block);
        if (ref.is_error())
            return finish(ref.error());
        u32* entries = ref.value().at<u32>(0);
        const u64 index = path.offsets[level];
        u32 next = entries[index];
        if (next == 0) {
            if (!allocate)
                return finish(0u);
            if (index > 0 && entries[index - 1])
                goal = entries[index - 1] + 1;
            auto allocated = allocate_at(level + 1);
            if (allocated.is_error())
                return finish(allocated.error());
            next = allocated.value();
            entries[index] = next;
            ref.value().mark_dirty();
        }
        goal = next + 1;
        block = next;
    }
    if (block >= m_super.s_blocks_count)
        return finish(Error::from_errno(EIO));
    return finish(block);
}

// Free every block of the subtree under indirect block `block` (at `depth`
// levels above the data) that maps file blocks >= first_free; `branch_start`
// is the first file block the subtree maps. Returns whether the indirect block
// is now all holes (the caller then frees it too).
Result<bool> FileSystem::free_branch(
    Inode& inode, u32 block, unsigned depth, u64 first_free, u64 branch_start)
{
    BlockRef ref = TRY(m_cache.read(block));
    u32* entries = ref.at<u32>(0);
    const u64 per_block = pointers_per_block();
    u64 child_span = 1;
    for (unsigned i = 1; i < depth; i++)
        child_span *= per_block;

    bool changed = false;
    bool empty = true;
    for (u64 i = 0; i < per_block; i++) {
        const u32 child = entries[i];
        if (!child)
            continue;
        const u64 child_start = branch_start + i * child_span;
        bool free_child = false;
        if (child_start >= first_free) {
            if (depth > 1)
                TRY(free_branch(inode, child, depth - 1, first_free, child_start));
            free_child = true;
        } else if (depth > 1 && child_start + child_span > first_free) {
            free_child = TRY(free_branch(inode, child, depth - 1, first_free, child_start));
        }
        if (free_child) {
            TRY(free_block(child));
            inode.disk.i_blocks -= sectors_per_block();
            entries[i] = 0;
            changed = true;
        } else {
            empty = false;
        }
    }
    if (changed)
        ref.mark_dirty();
    return empty;
}

Result<void> FileSystem::truncate_blocks(Inode& inode, u64 first_free)
{
    for (u64 i = first_free; i < NDIR_BLOCKS; i++) {
        if (inode.disk.i_block[i]) {
            TRY(free_block(inode.disk.i_block[i]));
            inode.disk.i_blocks -= sectors_per_block();
            inode.disk.i_block[i] = 0;
        }
    }
    const u64 per_block = pointers_per_block();
    u64 start = NDIR_BLOCKS;
    u64 span = per_block;
    for (unsigned depth = 1; depth <= 3; depth++) {
        const u32 slot = IND_BLOCK + depth - 1;
        const u32 block = inode.disk.i_block[slot];
        if (block && first_free < start + span) {
            // An indirect block that maps nothing any more goes too (when
            // first_free is inside its range, what it kept were holes).
            const bool empty = TRY(free_branch(inode, block, depth, first_free, start));
            if (empty) {
                TRY(free_block(block));
                inode.disk.i_blocks -= sectors_per_block();
                inode.disk.i_block[slot] = 0;
            }
        }
        start += span;
        span *= per_block;
    }
    return write_inode(inode);
}

Result<void> FileSystem::free_blocks_past(Inode& inode, u64 size)
{
    TRY(check_writable());
    return truncate_blocks(inode, (size + m_block_size - 1) / m_block_size);
}

Result<usize> FileSystem::read(Inode& inode, u64 offset, void* buffer, usize length)
{
    const u64 size = inode.size();
    if (offset >= size)
        return 0ul;
    length = static_cast<usize>(min<u64>(length, size - offset));
    auto* out = static_cast<u8*>(buffer);
    usize done = 0;
    while (done < length) {
        const u64 position = offset + done;
        const u64 file_block = position / m_block_size;
        const usize in_block = position % m_block_size;
        const usize chunk = min<usize>(m_block_size - in_block, length - done);
        const u32 block = TRY(map_block(inode, file_block, false));
        if (block == 0) {
            memset(out + done, 0, chunk);
        } else {
            BlockRef ref = TRY(m_cache.read(block));
            memcpy(out + done, ref.data() + in_block, chunk);
        }
        done += chunk;
    }
    return done;
}

Result<usize> FileSystem::write(Inode& inode, u64 offset, const void* buffer, usize length)
{
    TRY(check_writable());
    if (length == 0)
        return 0ul;
    if (offset >= m_max_file_size)
        return Error::from_errno(EFBIG);
    // Shortened at the limit, as Linux's generic_write_check_limits.
    length = static_cast<usize>(min<u64>(length, m_max_file_size - offset));
    const u64 end = offset + length;
    if (end > 0x7FFFFFFFul && !inode.is_regular())
        return Error::from_errno(EFBIG);
    TRY(note_large_file(end));

    const auto* in = static_cast<const u8*>(buffer);
    usize done = 0;
    Result<void> status;
    while (done < length) {
        const u64 position = offset + done;
        const u64 file_block = position / m_block_size;
        const usize in_block = position % m_block_size;
        const usize chunk = min<usize>(m_block_size - in_block, length - done);
        bool fresh = false;
        auto block = map_block(inode, file_block, true, &fresh);
        if (block.is_error()) {
            status = block.error();
            break;
        }
        auto ref = fresh ? m_cache.zeroed(block.value()) : m_cache.read(block.value());
        if (ref.is_error()) {
            status = ref.error();
            break;
        }
        memcpy(ref.value().data() + in_block, in + done, chunk);
        ref.value().mark_dirty();
        done += chunk;
    }
    // A short write (ENOSPC midway) still counts what was written, as Linux does.
    if (offset + done > inode.size())
        set_size(inode, offset + done);
    inode.disk.i_mtime = inode.disk.i_ctime = now();
    TRY(write_inode(inode));
    if (done == 0 && status.is_error())
        return status.error();
    return done;
}

Result<void> FileSystem::update_size(Inode& inode, u64 size)
{
    TRY(check_writable());
    if (size > m_max_file_size)
        return Error::from_errno(EFBIG);
    TRY(note_large_file(size));
    set_size(inode, size);
    inode.disk.i_mtime = inode.disk.i_ctime = now();
    return write_inode(inode);
}

Result<void> FileSystem::truncate(Inode& inode, u64 new_size, bool zero_tail)
{
    TRY(check_writable());
    if (inode.is_directory())
        return Error::from_errno(EISDIR);
    if (new_size > m_max_file_size || (new_size > 0x7FFFFFFFul && !inode.is_regular()))
        return Error::from_errno(EFBIG);
    BlockPath path;
    if (new_size > 0 && !block_path((new_size - 1) / m_block_size, pointers_per_block(), path))
        return Error::from_errno(EFBIG);
    TRY(note_large_file(new_size));
    const u64 old_size = inode.size();
    if (new_size < old_size) {
        TRY(truncate_blocks(inode, (new_size + m_block_size - 1) / m_block_size));
        // The rest of the last block must read as zeros if the file grows again.
        const usize tail = new_size % m_block_size;
        if (tail && zero_tail) {
            const u32 block = TRY(map_block(inode, new_size / m_block_size, false));
            if (block) {
                BlockRef ref = TRY(m_cache.read(block));
                memset(ref.data() + tail, 0, m_block_size - tail);
                ref.mark_dirty();
            }
        }
    }
    set_size(inode, new_size);
    inode.disk.i_mtime = inode.disk.i_ctime = now();
    return write_inode(inode);
}

} // namespace ext2
