// ext2 block and inode allocation [ext2-doc §3.4 bitmaps, §3.3 group
// descriptors]. Every change to a bitmap changes, in the same call, the free
// count of its group descriptor and of the superblock, so that the three always
// agree (e2fsck -f checks exactly this).
#include "fs/ext2/FileSystem.h"

namespace ext2 {

// First clear bit in [from, to) of `bitmap`, or -1.
static i64 find_clear_bit(const u8* bitmap, u32 from, u32 to)
{
    u32 bit = from;
    while (bit < to) {
        if ((bit & 7) == 0 && bitmap[bit / 8] == 0xFF) {
            bit += 8;
            continue;
        }
        if (!(bitmap[bit / 8] & (1u << (bit & 7))))
            return bit;
        bit++;
    }
    return -1;
}

static bool test_bit(const u8* bitmap, u32 bit) { return bitmap[bit / 8] & (1u << (bit & 7)); }
static void set_bit(u8* bitmap, u32 bit) { bitmap[bit / 8] |= static_cast<u8>(1u << (bit & 7)); }
static void clear_bit(u8* bitmap, u32 bit) { bitmap[bit / 8] &= static_cast<u8>(~(1u << (bit & 7))); }

u32 FileSystem::block_goal(const Inode& inode, u64) const
{
    // The start of the inode's group: files grow next to their inode.
    return m_super.s_first_data_block + group_of_inode(inode.number) * m_super.s_blocks_per_group;
}

Result<u32> FileSystem::allocate_block(u32 goal)
{
    TRY(check_writable());
    if (goal < m_super.s_first_data_block || goal >= m_super.s_blocks_count)
        goal = m_super.s_first_data_block;
    const u32 first_group = group_of_block(goal);
    for (u32 i = 0; i < m_group_count; i++) {
        const u32 group = (first_group + i) % m_group_count;
        GroupDescriptor* gd;
        BlockRef gd_ref = TRY(group_descriptor(group, gd));
        if (gd->bg_free_blocks_count == 0)
            continue;
        BlockRef bitmap = TRY(m_cache.read(gd->bg_block_bitmap));
        const u32 bits = blocks_in_group(group);
        const u32 start = i == 0 ? (goal - m_super.s_first_data_block) % m_super.s_blocks_per_group : 0;
        i64 bit = find_clear_bit(bitmap.data(), start, bits);
        if (bit < 0 && start > 0)
            bit = find_clear_bit(bitmap.data(), 0, start);
        if (bit < 0)
            return Error::from_errno(EIO); // the descriptor's count disagrees with its bitmap
        set_bit(bitmap.data(), static_cast<u32>(bit));
        bitmap.mark_dirty();
        gd->bg_free_blocks_count--;
        gd_ref.mark_dirty();
        m_super.s_free_blocks_count--;
        return m_super.s_first_data_block + group * m_super.s_blocks_per_group + static_cast<u32>(bit);
    }
    return Error::from_errno(ENOSPC);
}

Result<void> FileSystem::free_block(u32 block)
{
    TRY(check_writable());
    if (block < m_super.s_first_data_block || block >= m_super.s_blocks_count)
        return Error::from_errno(EIO);
    const u32 group = group_of_block(block);
    const u32 bit = (block - m_super.s_first_data_block) % m_super.s_blocks_per_group;
    GroupDescriptor* gd;
    BlockRef gd_ref = TRY(group_descriptor(group, gd));
    BlockRef bitmap = TRY(m_cache.read(gd->bg_block_bitmap));
    if (!test_bit(bitmap.data(), bit))
        return Error::from_errno(EIO); // freeing a free block: corruption
    clear_bit(bitmap.data(), bit);
    bitmap.mark_dirty();
    gd->bg_free_blocks_count++;
    gd_ref.mark_dirty();
    m_super.s_free_blocks_count++;
    return {};
}

Result<u32> FileSystem::allocate_inode(u32 parent_group, bool directory)
{
    TRY(check_writable());
    if (m_super.s_free_inodes_count == 0)
        return Error::from_errno(ENOSPC);

    // Directories spread out over groups with more than their share of free
    // inodes and blocks (so their files have room); files stay with their
    // directory, else the next group with free inodes.
    u32 first_group = parent_group;
    if (directory) {
        const u64 average_inodes = m_super.s_free_inodes_count / m_group_count;
        const u64 average_blocks = m_super.s_free_blocks_count / m_group_count;
        for (u32 i = 0; i < m_group_count; i++) {
            const u32 group = (m_last_alloc_group + 1 + i) % m_group_count;
            GroupDescriptor* gd;
            BlockRef ref = TRY(group_descriptor(group, gd));
            if (gd->bg_free_inodes_count > 0 && gd->bg_free_inodes_count >= average_inodes
                && gd->bg_free_blocks_count >= average_blocks) {
                first_group = group;
                break;
            }
        }
        m_last_alloc_group = first_group;
    }

    for (u32 i = 0; i < m_group_count; i++) {
        const u32 group = (first_group + i) % m_group_count;
        GroupDescriptor* gd;
        BlockRef gd_ref = TRY(group_descriptor(group, gd));
        if (gd->bg_free_inodes_count == 0)
            continue;
        BlockRef bitmap = TRY(m_cache.read(gd->bg_inode_bitmap));
        // Reserved inodes (below s_first_ino) are never handed out, whatever the bitmap says.
        const u32 group_first = group * m_super.s_inodes_per_group + 1;
        const u32 skip
            = group_first < m_first_inode ? min(m_first_inode - group_first, m_super.s_inodes_per_group) : 0;
        const i64 bit = find_clear_bit(bitmap.data(), skip, m_super.s_inodes_per_group);
        if (bit < 0)
            continue;
        set_bit(bitmap.data(), static_cast<u32>(bit));
        bitmap.mark_dirty();
        gd->bg_free_inodes_count--;
        if (directory)
            gd->bg_used_dirs_count++;
        gd_ref.mark_dirty();
        m_super.s_free_inodes_count--;
        return group_first + static_cast<u32>(bit);
    }
    return Error::from_errno(ENOSPC);
}

Result<void> FileSystem::free_inode(u32 number, bool directory)
{
    TRY(check_writable());
    if (number < m_first_inode || number > m_super.s_inodes_count)
        return Error::from_errno(EIO);
    const u32 group = group_of_inode(number);
    const u32 bit = (number - 1) % m_super.s_inodes_per_group;
    GroupDescriptor* gd;
    BlockRef gd_ref = TRY(group_descriptor(group, gd));
    BlockRef bitmap = TRY(m_cache.read(gd->bg_inode_bitmap));
    if (!test_bit(bitmap.data(), bit))
        return Error::from_errno(EIO);
    clear_bit(bitmap.data(), bit);
    bitmap.mark_dirty();
    gd->bg_free_inodes_count++;
    if (directory && gd->bg_used_dirs_count > 0)
        gd->bg_used_dirs_count--;
    gd_ref.mark_dirty();
    m_super.s_free_inodes_count++;
    return {};
}

} // namespace ext2
