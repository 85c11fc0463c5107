// ext2: mount checks, superblock and group descriptors, the inode table.
#include "fs/ext2/FileSystem.h"

#include "kernel/lib/Format.h"
#include "kernel/lib/String.h"

namespace ext2 {

static const FeatureName COMPAT_NAMES[] = {
    { COMPAT_DIR_PREALLOC, "dir_prealloc" },
    { COMPAT_IMAGIC_INODES, "imagic_inodes" },
    { COMPAT_HAS_JOURNAL, "has_journal" },
    { COMPAT_EXT_ATTR, "ext_attr" },
    { COMPAT_RESIZE_INODE, "resize_inode" },
    { COMPAT_DIR_INDEX, "dir_index" },
    { COMPAT_SPARSE_SUPER2, "sparse_super2" },
};
static const FeatureName INCOMPAT_NAMES[] = {
    { INCOMPAT_COMPRESSION, "compression" },
    { INCOMPAT_FILETYPE, "filetype" },
    { INCOMPAT_RECOVER, "needs_recovery" },
    { INCOMPAT_JOURNAL_DEV, "journal_dev" },
    { INCOMPAT_META_BG, "meta_bg" },
    { INCOMPAT_EXTENTS, "extent" },
    { INCOMPAT_64BIT, "64bit" },
    { INCOMPAT_MMP, "mmp" },
    { INCOMPAT_FLEX_BG, "flex_bg" },
    { INCOMPAT_EA_INODE, "ea_inode" },
    { INCOMPAT_DIRDATA, "dirdata" },
    { INCOMPAT_CSUM_SEED, "metadata_csum_seed" },
    { INCOMPAT_LARGEDIR, "large_dir" },
    { INCOMPAT_INLINE_DATA, "inline_data" },
    { INCOMPAT_ENCRYPT, "encrypt" },
    { INCOMPAT_CASEFOLD, "casefold" },
};
static const FeatureName RO_COMPAT_NAMES[] = {
    { RO_COMPAT_SPARSE_SUPER, "sparse_super" },
    { RO_COMPAT_LARGE_FILE, "large_file" },
    { RO_COMPAT_BTREE_DIR, "btree_dir" },
    { RO_COMPAT_HUGE_FILE, "huge_file" },
    { RO_COMPAT_GDT_CSUM, "uninit_bg" },
    { RO_COMPAT_DIR_NLINK, "dir_nlink" },
    { RO_COMPAT_EXTRA_ISIZE, "extra_isize" },
    { RO_COMPAT_QUOTA, "quota" },
    { RO_COMPAT_BIGALLOC, "bigalloc" },
    { RO_COMPAT_METADATA_CSUM, "metadata_csum" },
    { RO_COMPAT_READONLY, "read-only" },
    { RO_COMPAT_PROJECT, "project" },
    { RO_COMPAT_VERITY, "verity" },
};

template <usize N> static const char* feature_name(const FeatureName (&table)[N], u32 bit)
{
    for (const FeatureName& entry : table) {
        if (entry.mask == bit)
            return entry.name;
    }
    return nullptr;
}

const char* compat_feature_name(u32 bit) { return feature_name(COMPAT_NAMES, bit); }
const char* incompat_feature_name(u32 bit) { return feature_name(INCOMPAT_NAMES, bit); }
const char* ro_compat_feature_name(u32 bit) { return feature_name(RO_COMPAT_NAMES, bit); }

FileType file_type_of_mode(u16 mode)
{
    switch (mode & MODE_TYPE_MASK) {
    case MODE_REGULAR:
        return FT_REG_FILE;
    case MODE_DIRECTORY:
        return FT_DIR;
    case MODE_CHAR_DEVICE:
        return FT_CHRDEV;
    case MODE_BLOCK_DEVICE:
        return FT_BLKDEV;
    case MODE_FIFO:
        return FT_FIFO;
    case MODE_SOCKET:
        return FT_SOCK;
    case MODE_SYMLINK:
        return FT_SYMLINK;
    default:
        return FT_UNKNOWN;
    }
}

// "name1 name2 ..." of the set bits of `features`, into `out`.
static void describe_features(char* out, usize size, u32 features, const char* (*name_of)(u32))
{
    usize used = 0;
    out[0] = 0;
    for (u32 bit = 1; bit != 0; bit <<= 1) {
        if (!(features & bit))
            continue;
        const char* name = name_of(bit);
        if (used < size) {
            used += name ? format_string(out + used, size - used, "%s%s", used ? " " : "", name)
                         : format_string(out + used, size - used, "%sFEATURE_0x%x", used ? " " : "", bit);
        }
    }
}

Result<void> FileSystem::load_superblock()
{
    // The superblock sits at byte 1024 whatever the block size: read it as
    // block 1 of a 1 KiB-block view.
    TRY(m_cache.set_block_size(MIN_BLOCK_SIZE));
    BlockRef ref = TRY(m_cache.read(SUPERBLOCK_OFFSET / MIN_BLOCK_SIZE));
    memcpy(&m_super, ref.data(), sizeof(m_super));
    return {};
}

Result<void> FileSystem::mount(u32 flags)
{
    m_read_only = flags & MOUNT_READ_ONLY;
    TRY(load_superblock());
    const SuperBlock& sb = m_super;

    if (sb.s_magic != MAGIC) {
        format_string(m_message, sizeof(m_message), "not an ext2 filesystem (magic 0x%x)", sb.s_magic);
        return Error::from_errno(EINVAL);
    }
    if (sb.s_rev_level > DYNAMIC_REV) {
        format_string(m_message, sizeof(m_message), "revision %u not supported", sb.s_rev_level);
        return Error::from_errno(EINVAL);
    }
    if (sb.s_log_block_size > 2) {
        format_string(m_message, sizeof(m_message), "block size %u not supported (1-4 KiB)",
            sb.s_log_block_size < 20 ? MIN_BLOCK_SIZE << sb.s_log_block_size : 0);
        return Error::from_errno(EINVAL);
    }
    m_block_size = MIN_BLOCK_SIZE << sb.s_log_block_size;
    m_max_file_size = ext2::max_file_size(m_block_size);

    if (sb.s_rev_level == GOOD_OLD_REV) {
        m_inode_size = GOOD_OLD_INODE_SIZE;
        m_first_inode = GOOD_OLD_FIRST_INO;
        // Revision 0 has no feature fields: whatever is there means nothing.
        m_super.s_feature_compat = m_super.s_feature_incompat = m_super.s_feature_ro_compat = 0;
    } else {
        m_inode_size = sb.s_inode_size;
        m_first_inode = sb.s_first_ino;
        const u32 unsupported_incompat = sb.s_feature_incompat & ~SUPPORTED_INCOMPAT;
        if (unsupported_incompat) {
            char names[96];
            describe_features(names, sizeof(names), unsupported_incompat, incompat_feature_name);
            format_string(m_message, sizeof(m_message), "unsupported incompatible feature(s): %s", names);
            return Error::from_errno(EINVAL);
        }
        const u32 unsupported_ro = sb.s_feature_ro_compat & ~SUPPORTED_RO_COMPAT;
        if (unsupported_ro) {
            char names[96];
            describe_features(names, sizeof(names), unsupported_ro, ro_compat_feature_name);
            format_string(
                m_message, sizeof(m_message), "mounted read-only: unsupported feature(s): %s", names);
            m_read_only = true;
        }
        // An ext3 filesystem (has_journal) with a clean journal: Linux's ext2
        // driver mounts it with "warning: mounting ext3 filesystem as ext2"
        // (a dirty journal sets needs_recovery, an incompat feature refused
        // above). Sluice mounts it read-only instead, so nothing can change
        // blocks behind a journal it does not maintain.
        if ((sb.s_feature_compat & COMPAT_HAS_JOURNAL) && !m_read_only) {
            format_string(m_message, sizeof(m_message),
                "mounted read-only: has_journal (ext3; the journal is not maintained)");
            m_read_only = true;
        } else if (sb.s_feature_compat & COMPAT_HAS_JOURNAL) {
            char previous[sizeof(m_message)];
            memcpy(previous, m_message, sizeof(m_message));
            format_string(m_message, sizeof(m_message), "%s%shas_journal (ext3) ignored read-only", previous,
                previous[0] ? "; " : "");
        }
    }

    if (m_inode_size < GOOD_OLD_INODE_SIZE || m_inode_size > m_block_size
        || (m_inode_size & (m_inode_size - 1))) {
        format_string(m_message, sizeof(m_message), "bad inode size %u", m_inode_size);
        return Error::from_errno(EINVAL);
    }
    if (sb.s_blocks_per_group == 0 || sb.s_blocks_per_group > 8 * m_block_size || sb.s_inodes_per_group == 0
        || sb.s_inodes_per_group > 8 * m_block_size || sb.s_first_data_block >= sb.s_blocks_count
        || m_first_inode <= ROOT_INO || m_first_inode > sb.s_inodes_count) {
        format_string(m_message, sizeof(m_message), "corrupt superblock geometry");
        return Error::from_errno(EINVAL);
    }
    if (static_cast<u64>(sb.s_blocks_count) * m_block_size > m_cache.device_size_bytes()) {
        format_string(
            m_message, sizeof(m_message), "filesystem (%u blocks) larger than the device", sb.s_blocks_count);
        return Error::from_errno(EINVAL);
    }
    m_group_count
        = (sb.s_blocks_count - sb.s_first_data_block + sb.s_blocks_per_group - 1) / sb.s_blocks_per_group;
    if (static_cast<u64>(m_group_count) * sb.s_inodes_per_group != sb.s_inodes_count) {
        format_string(m_message, sizeof(m_message), "inode count %u does not match %u groups of %u",
            sb.s_inodes_count, m_group_count, sb.s_inodes_per_group);
        return Error::from_errno(EINVAL);
    }
    m_gdt_block = sb.s_first_data_block + 1;

    TRY(m_cache.set_block_size(m_block_size));

    // The descriptors must point inside the filesystem.
    for (u32 group = 0; group < m_group_count; group++) {
        GroupDescriptor* gd;
        BlockRef ref = TRY(group_descriptor(group, gd));
        const u32 inode_table_blocks
            = (sb.s_inodes_per_group * m_inode_size + m_block_size - 1) / m_block_size;
        if (gd->bg_block_bitmap >= sb.s_blocks_count || gd->bg_inode_bitmap >= sb.s_blocks_count
            || gd->bg_inode_table + inode_table_blocks > sb.s_blocks_count) {
            format_string(
                m_message, sizeof(m_message), "group %u descriptor points outside the filesystem", group);
            return Error::from_errno(EINVAL);
        }
    }

    if (!m_read_only) {
        // [ext2-doc §3.1.11] A mounted read-write filesystem is not "valid"
        // (clean) on disk until it is unmounted.
        if (!(m_super.s_state & STATE_VALID) || (m_super.s_state & STATE_ERROR)) {
            if (!m_message[0])
                format_string(m_message, sizeof(m_message), "not cleanly unmounted, e2fsck recommended");
        }
        m_super.s_state &= ~STATE_VALID;
        m_super.s_mnt_count++;
        m_super.s_mtime = now();
        TRY(write_superblock());
        TRY(m_cache.sync());
    }
    m_mounted = true;
    return {};
}

Result<void> FileSystem::write_superblock()
{
    m_super.s_wtime = now();
    // Block containing byte 1024 at the current block size.
    const u64 block = SUPERBLOCK_OFFSET / m_block_size;
    const usize offset = SUPERBLOCK_OFFSET % m_block_size;
    BlockRef ref = TRY(m_cache.read(block));
    memcpy(ref.data() + offset, &m_super, sizeof(m_super));
    ref.mark_dirty();
    return {};
}

Result<void> FileSystem::sync()
{
    if (!m_read_only)
        TRY(write_superblock());
    return m_cache.sync();
}

Result<void> FileSystem::unmount()
{
    if (!m_mounted)
        return {};
    if (!m_read_only) {
        m_super.s_state |= STATE_VALID;
        TRY(write_superblock());
    }
    TRY(m_cache.sync());
    m_mounted = false;
    return {};
}

bool FileSystem::group_has_superblock(u32 group) const
{
    if (group <= 1 || !(m_super.s_feature_ro_compat & RO_COMPAT_SPARSE_SUPER))
        return true;
    if (!(group & 1))
        return false;
    static constexpr u32 BASES[] = { 3, 5, 7 };
    for (u32 base : BASES) {
        u64 power = base;
        while (power < group)
            power *= base;
        if (power == group)
            return true;
    }
    return false;
}

u32 FileSystem::blocks_in_group(u32 group) const
{
    if (group + 1 < m_group_count)
        return m_super.s_blocks_per_group;
    return m_super.s_blocks_count - m_super.s_first_data_block - group * m_super.s_blocks_per_group;
}

Result<BlockRef> FileSystem::group_descriptor(u32 group, GroupDescriptor*& out)
{
    if (group >= m_group_count)
        return Error::from_errno(EINVAL);
    const u32 per_block = m_block_size / sizeof(GroupDescriptor);
    BlockRef ref = TRY(m_cache.read(m_gdt_block + group / per_block));
    out = ref.at<GroupDescriptor>((group % per_block) * sizeof(GroupDescriptor));
    return ref;
}

Result<BlockRef> FileSystem::inode_slot(u32 number, DiskInode*& out)
{
    if (number == 0 || number > m_super.s_inodes_count)
        return Error::from_errno(EINVAL);
    const u32 group = group_of_inode(number);
    const u32 index = (number - 1) % m_super.s_inodes_per_group;
    GroupDescriptor* gd;
    u32 table;
    {
        BlockRef gd_ref = TRY(group_descriptor(group, gd));
        table = gd->bg_inode_table;
    }
    const u64 byte = static_cast<u64>(index) * m_inode_size;
    BlockRef ref = TRY(m_cache.read(table + byte / m_block_size));
    out = ref.at<DiskInode>(byte % m_block_size);
    return ref;
}

Result<void> FileSystem::read_inode(u32 number, Inode& out)
{
    DiskInode* slot;
    BlockRef ref = TRY(inode_slot(number, slot));
    out.number = number;
    memcpy(&out.disk, slot, sizeof(DiskInode));
    return {};
}

Result<void> FileSystem::write_inode(const Inode& inode)
{
    TRY(check_writable());
    DiskInode* slot;
    BlockRef ref = TRY(inode_slot(inode.number, slot));
    // Only the first 128 bytes: the rest of a large inode slot is preserved.
    memcpy(slot, &inode.disk, sizeof(DiskInode));
    ref.mark_dirty();
    return {};
}

Result<void> FileSystem::check_writable() const
{
    if (m_read_only)
        return Error::from_errno(EROFS);
    return {};
}

} // namespace ext2
