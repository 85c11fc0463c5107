// The ext2 on-disk format (revision 0 and 1), little-endian, as described in
// "The Second Extended File System" (Dave Poirier, https://www.nongnu.org/ext2-doc/)
// — cited below as [ext2-doc §n] — and laid out as in e2fsprogs'
// lib/ext2fs/ext2_fs.h, which mkfs.ext2/e2fsck (the tools the tests use) follow.
#pragma once

#include "kernel/lib/Types.h"

namespace ext2 {

// [ext2-doc §3.1] The superblock is always at byte 1024 of the volume, 1024 bytes long.
constexpr u64 SUPERBLOCK_OFFSET = 1024;
constexpr u32 SUPERBLOCK_SIZE = 1024;
constexpr u16 MAGIC = 0xEF53;
constexpr u32 MIN_BLOCK_SIZE = 1024; // block size = 1024 << s_log_block_size
constexpr u32 MAX_BLOCK_SIZE = 4096; // what Sluice supports (page size)

// s_state [ext2-doc §3.1.11]
constexpr u16 STATE_VALID = 1; // cleanly unmounted
constexpr u16 STATE_ERROR = 2; // errors detected

// s_rev_level [ext2-doc §3.1.19]
constexpr u32 GOOD_OLD_REV = 0; // fixed 128-byte inodes, first inode 11, no features
constexpr u32 DYNAMIC_REV = 1;
constexpr u16 GOOD_OLD_INODE_SIZE = 128;
constexpr u32 GOOD_OLD_FIRST_INO = 11;

// Reserved inode numbers [ext2-doc §3.5, "Defined Reserved Inodes"].
constexpr u32 BAD_BLOCKS_INO = 1;
constexpr u32 ROOT_INO = 2;
constexpr u32 RESIZE_INO = 7;
constexpr u32 JOURNAL_INO = 8;

// Feature flags [ext2-doc §3.1.26-28]. Names are e2fsprogs' (what mkfs -O and
// dumpe2fs print), so a refusal message can be looked up directly.
//   compat:    may be ignored by an implementation that does not know it;
//   incompat:  must not mount at all if unknown;
//   ro_compat: may be mounted read-only if unknown.
enum CompatFeature : u32 {
    COMPAT_DIR_PREALLOC = 0x0001,
    COMPAT_IMAGIC_INODES = 0x0002,
    COMPAT_HAS_JOURNAL = 0x0004,
    COMPAT_EXT_ATTR = 0x0008,
    COMPAT_RESIZE_INODE = 0x0010,
    COMPAT_DIR_INDEX = 0x0020,
    COMPAT_SPARSE_SUPER2 = 0x0200,
};
enum IncompatFeature : u32 {
    INCOMPAT_COMPRESSION = 0x0001,
    INCOMPAT_FILETYPE = 0x0002,
    INCOMPAT_RECOVER = 0x0004,
    INCOMPAT_JOURNAL_DEV = 0x0008,
    INCOMPAT_META_BG = 0x0010,
    INCOMPAT_EXTENTS = 0x0040,
    INCOMPAT_64BIT = 0x0080,
    INCOMPAT_MMP = 0x0100,
    INCOMPAT_FLEX_BG = 0x0200,
    INCOMPAT_EA_INODE = 0x0400,
    INCOMPAT_DIRDATA = 0x1000,
    INCOMPAT_CSUM_SEED = 0x2000,
    INCOMPAT_LARGEDIR = 0x4000,
    INCOMPAT_INLINE_DATA = 0x8000,
    INCOMPAT_ENCRYPT = 0x10000,
    INCOMPAT_CASEFOLD = 0x20000,
};
enum RoCompatFeature : u32 {
    RO_COMPAT_SPARSE_SUPER = 0x0001,
    RO_COMPAT_LARGE_FILE = 0x0002,
    RO_COMPAT_BTREE_DIR = 0x0004,
    RO_COMPAT_HUGE_FILE = 0x0008,
    RO_COMPAT_GDT_CSUM = 0x0010,
    RO_COMPAT_DIR_NLINK = 0x0020,
    RO_COMPAT_EXTRA_ISIZE = 0x0040,
    RO_COMPAT_QUOTA = 0x0100,
    RO_COMPAT_BIGALLOC = 0x0200,
    RO_COMPAT_METADATA_CSUM = 0x0400,
    RO_COMPAT_READONLY = 0x1000,
    RO_COMPAT_PROJECT = 0x2000,
    RO_COMPAT_VERITY = 0x8000,
};

// What this implementation handles. Unknown compat features are harmless by
// definition; dir_index directories are treated as linear (the htree root is
// laid out so that linear readers see an empty entry), and the index flag is
// cleared on the first change, as ext2 drivers without htree support do.
constexpr u32 SUPPORTED_INCOMPAT = INCOMPAT_FILETYPE;
constexpr u32 SUPPORTED_RO_COMPAT = RO_COMPAT_SPARSE_SUPER | RO_COMPAT_LARGE_FILE;

struct FeatureName {
    u32 mask;
    const char* name;
};
// e2fsprogs' name of one feature bit ("feature_0x..." style names are left to the caller).
const char* compat_feature_name(u32 bit);
const char* incompat_feature_name(u32 bit);
const char* ro_compat_feature_name(u32 bit);

// [ext2-doc §3.1] Superblock.
struct [[gnu::packed]] SuperBlock {
    u32 s_inodes_count;
    u32 s_blocks_count;
    u32 s_r_blocks_count;
    u32 s_free_blocks_count;
    u32 s_free_inodes_count;
    u32 s_first_data_block;
    u32 s_log_block_size;
    u32 s_log_frag_size;
    u32 s_blocks_per_group;
    u32 s_frags_per_group;
    u32 s_inodes_per_group;
    u32 s_mtime;
    u32 s_wtime;
    u16 s_mnt_count;
    i16 s_max_mnt_count;
    u16 s_magic;
    u16 s_state;
    u16 s_errors;
    u16 s_minor_rev_level;
    u32 s_lastcheck;
    u32 s_checkinterval;
    u32 s_creator_os;
    u32 s_rev_level;
    u16 s_def_resuid;
    u16 s_def_resgid;
    // DYNAMIC_REV only:
    u32 s_first_ino;
    u16 s_inode_size;
    u16 s_block_group_nr;
    u32 s_feature_compat;
    u32 s_feature_incompat;
    u32 s_feature_ro_compat;
    u8 s_uuid[16];
    char s_volume_name[16];
    char s_last_mounted[64];
    u32 s_algo_bitmap;
    u8 s_prealloc_blocks;
    u8 s_prealloc_dir_blocks;
    u16 s_reserved_gdt_blocks; // resize_inode: GDT growth reserve after each GDT copy
    u8 s_journal_uuid[16];
    u32 s_journal_inum;
    u32 s_journal_dev;
    u32 s_last_orphan;
    u32 s_hash_seed[4];
    u8 s_def_hash_version;
    u8 s_jnl_backup_type;
    u16 s_desc_size;
    u32 s_default_mount_opts;
    u32 s_first_meta_bg;
    u8 s_reserved[760];
};
static_assert(sizeof(SuperBlock) == SUPERBLOCK_SIZE);
static_assert(__builtin_offsetof(SuperBlock, s_magic) == 56);
static_assert(__builtin_offsetof(SuperBlock, s_rev_level) == 76);
static_assert(__builtin_offsetof(SuperBlock, s_first_ino) == 84);
static_assert(__builtin_offsetof(SuperBlock, s_feature_compat) == 92);
static_assert(__builtin_offsetof(SuperBlock, s_feature_ro_compat) == 100);
static_assert(__builtin_offsetof(SuperBlock, s_uuid) == 104);
static_assert(__builtin_offsetof(SuperBlock, s_last_mounted) == 136);
static_assert(__builtin_offsetof(SuperBlock, s_algo_bitmap) == 200);
static_assert(__builtin_offsetof(SuperBlock, s_reserved_gdt_blocks) == 206);
static_assert(__builtin_offsetof(SuperBlock, s_journal_uuid) == 208);
static_assert(__builtin_offsetof(SuperBlock, s_hash_seed) == 236);
static_assert(__builtin_offsetof(SuperBlock, s_first_meta_bg) == 260);

// [ext2-doc §3.3] Block group descriptor: 32 bytes each, in the blocks right
// after the superblock's block.
struct [[gnu::packed]] GroupDescriptor {
    u32 bg_block_bitmap;
    u32 bg_inode_bitmap;
    u32 bg_inode_table;
    u16 bg_free_blocks_count;
    u16 bg_free_inodes_count;
    u16 bg_used_dirs_count;
    u16 bg_pad;
    u8 bg_reserved[12];
};
static_assert(sizeof(GroupDescriptor) == 32);
static_assert(__builtin_offsetof(GroupDescriptor, bg_free_blocks_count) == 12);
static_assert(__builtin_offsetof(GroupDescriptor, bg_used_dirs_count) == 16);

// [ext2-doc §3.5] Inode: the first 128 bytes of each s_inode_size-byte slot.
constexpr u32 NDIR_BLOCKS = 12;
constexpr u32 IND_BLOCK = 12;
constexpr u32 DIND_BLOCK = 13;
constexpr u32 TIND_BLOCK = 14;
constexpr u32 N_BLOCKS = 15;

struct [[gnu::packed]] DiskInode {
    u16 i_mode;
    u16 i_uid;
    u32 i_size;
    u32 i_atime;
    u32 i_ctime;
    u32 i_mtime;
    u32 i_dtime;
    u16 i_gid;
    u16 i_links_count;
    u32 i_blocks; // in 512-byte units, indirect blocks included
    u32 i_flags;
    u32 i_osd1;
    u32 i_block[N_BLOCKS];
    u32 i_generation;
    u32 i_file_acl;
    u32 i_size_high; // i_dir_acl in revision 0; high 32 bits of a regular file's size with large_file
    u32 i_faddr;
    u8 l_i_frag;
    u8 l_i_fsize;
    u16 l_i_blocks_high;
    u16 l_i_uid_high;
    u16 l_i_gid_high;
    u32 l_i_reserved2;
};
static_assert(sizeof(DiskInode) == GOOD_OLD_INODE_SIZE);
static_assert(__builtin_offsetof(DiskInode, i_links_count) == 26);
static_assert(__builtin_offsetof(DiskInode, i_blocks) == 28);
static_assert(__builtin_offsetof(DiskInode, i_block) == 40);
static_assert(__builtin_offsetof(DiskInode, i_file_acl) == 104);
static_assert(__builtin_offsetof(DiskInode, i_size_high) == 108);
static_assert(__builtin_offsetof(DiskInode, l_i_uid_high) == 120);

// i_mode [ext2-doc §3.5.1]: the file format bits (Linux S_IF*) and permissions.
constexpr u16 MODE_TYPE_MASK = 0xF000;
constexpr u16 MODE_SOCKET = 0xC000;
constexpr u16 MODE_SYMLINK = 0xA000;
constexpr u16 MODE_REGULAR = 0x8000;
constexpr u16 MODE_BLOCK_DEVICE = 0x6000;
constexpr u16 MODE_DIRECTORY = 0x4000;
constexpr u16 MODE_CHAR_DEVICE = 0x2000;
constexpr u16 MODE_FIFO = 0x1000;
constexpr u16 PERMISSION_MASK = 0x0FFF;

// i_flags [ext2-doc §3.5.12]
constexpr u32 INDEX_FL = 0x00001000; // htree directory (dir_index)
constexpr u32 EXTENTS_FL = 0x00080000;

// The extended attribute block that i_file_acl points to starts with this
// magic and a reference count (e2fsprogs ext2_ext_attr.h).
constexpr u32 XATTR_MAGIC = 0xEA020000;
struct [[gnu::packed]] XattrHeader {
    u32 h_magic;
    u32 h_refcount;
    u32 h_blocks;
    u32 h_hash;
    u32 h_reserved[4];
};
static_assert(sizeof(XattrHeader) == 32);

// [ext2-doc §4.1] Linked directory entry; the name follows, not NUL-terminated.
// With the filetype feature the high byte of the name length is a file type.
struct [[gnu::packed]] DirEntryHeader {
    u32 inode; // 0: unused entry
    u16 rec_len;
    u8 name_len;
    u8 file_type;
};
static_assert(sizeof(DirEntryHeader) == 8);
constexpr u32 MAX_NAME_LENGTH = 255;
// Entries are 4-byte aligned: header + name rounded up.
constexpr u32 dir_entry_size(u32 name_length)
{
    return align_up<u32>(sizeof(DirEntryHeader) + name_length, 4);
}

// file_type [ext2-doc §4.1.5]
enum FileType : u8 {
    FT_UNKNOWN = 0,
    FT_REG_FILE = 1,
    FT_DIR = 2,
    FT_CHRDEV = 3,
    FT_BLKDEV = 4,
    FT_FIFO = 5,
    FT_SOCK = 6,
    FT_SYMLINK = 7,
};
FileType file_type_of_mode(u16 mode);

// A symlink whose target fits in i_block (60 bytes, NUL excluded as Linux
// counts it: length + 1 <= 60) is "fast" and uses no data block.
constexpr u32 FAST_SYMLINK_MAX_LENGTH = sizeof(u32) * N_BLOCKS - 1;

} // namespace ext2
