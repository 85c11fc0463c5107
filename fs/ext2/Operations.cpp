// ext2 namespace operations: the inode lifecycle (allocated -> linked ->
// unlinked -> released) and the link-count rules of [ext2-doc §3.5.7]: a file
// has one link per name; a directory has one from its parent, one from its own
// ".", and one from each subdirectory's "..".
#include "fs/ext2/FileSystem.h"

#include "kernel/lib/String.h"

namespace ext2 {

constexpr u16 LINK_MAX = 32000; // Linux EXT2_LINK_MAX
constexpr u32 MAX_DIRECTORY_DEPTH = 4096; // bound for the ".." walk of rename

void FileSystem::set_size(Inode& inode, u64 size)
{
    inode.disk.i_size = static_cast<u32>(size);
    if (inode.is_regular())
        inode.disk.i_size_high = static_cast<u32>(size >> 32);
}

Result<void> FileSystem::note_large_file(u64 size)
{
    // [ext2-doc §3.1.28] large_file: some file is 2 GiB or larger.
    if (size <= 0x7FFFFFFFul || (m_super.s_feature_ro_compat & RO_COMPAT_LARGE_FILE))
        return {};
    if (m_super.s_rev_level == GOOD_OLD_REV)
        return Error::from_errno(EFBIG);
    m_super.s_feature_ro_compat |= RO_COMPAT_LARGE_FILE;
    return write_superblock();
}

Result<void> FileSystem::check_name(StringView name) const
{
    if (name.is_empty())
        return Error::from_errno(ENOENT);
    if (name.length() > MAX_NAME_LENGTH)
        return Error::from_errno(ENAMETOOLONG);
    for (usize i = 0; i < name.length(); i++) {
        if (name[i] == '/' || name[i] == 0)
            return Error::from_errno(EINVAL);
    }
    return {};
}

Result<void> FileSystem::check_new_entry_directory(Inode& directory, StringView name) const
{
    TRY(check_writable());
    if (!directory.is_directory())
        return Error::from_errno(ENOTDIR);
    return check_name(name);
}

Result<void> FileSystem::check_name_is_free(Inode& directory, StringView name)
{
    auto existing = lookup(directory, name);
    if (!existing.is_error())
        return Error::from_errno(EEXIST);
    if (existing.error().code() != ENOENT)
        return existing.error();
    return {};
}

Result<void> FileSystem::new_inode(Inode& directory, u16 mode, Inode& out)
{
    const bool is_directory = (mode & MODE_TYPE_MASK) == MODE_DIRECTORY;
    const u32 number = TRY(allocate_inode(group_of_inode(directory.number), is_directory));
    {
        // Clear the whole slot: a large inode's extra bytes may hold a
        // previous owner's fields.
        DiskInode* slot;
        BlockRef ref = TRY(inode_slot(number, slot));
        memset(slot, 0, m_inode_size);
        ref.mark_dirty();
    }
    out.number = number;
    memset(&out.disk, 0, sizeof(out.disk));
    out.disk.i_mode = mode;
    out.disk.i_atime = out.disk.i_ctime = out.disk.i_mtime = now();
    return {};
}

Result<void> FileSystem::create(Inode& directory, StringView name, u16 mode, Inode& out)
{
    TRY(check_new_entry_directory(directory, name));
    if ((mode & MODE_TYPE_MASK) == MODE_DIRECTORY)
        return Error::from_errno(EINVAL); // mkdir() makes directories
    if ((mode & MODE_TYPE_MASK) == 0)
        mode |= MODE_REGULAR;
    if (directory.disk.i_links_count == 0)
        return Error::from_errno(ENOENT); // a removed directory
    TRY(check_name_is_free(directory, name));

    TRY(new_inode(directory, mode, out));
    out.disk.i_links_count = 1;
    TRY(write_inode(out));
    auto added = add_entry(directory, name, out.number, entry_file_type(mode));
    if (added.is_error()) {
        out.disk.i_links_count = 0;
        (void)release(out);
        return added.error();
    }
    return {};
}

Result<void> FileSystem::mkdir(Inode& directory, StringView name, u16 mode, Inode& out)
{
    TRY(check_new_entry_directory(directory, name));
    if (directory.disk.i_links_count == 0)
        return Error::from_errno(ENOENT);
    if (directory.disk.i_links_count >= LINK_MAX)
        return Error::from_errno(EMLINK);
    TRY(check_name_is_free(directory, name));

    TRY(new_inode(directory, MODE_DIRECTORY | (mode & PERMISSION_MASK), out));
    out.disk.i_links_count = 2; // its name in the parent, and its own "."
    auto populate = [&]() -> Result<void> {
        const u32 block = TRY(map_block(out, 0, true));
        BlockRef ref = TRY(m_cache.zeroed(block));
        auto* dot = ref.at<DirEntryHeader>(0);
        dot->inode = out.number;
        dot->rec_len = static_cast<u16>(dir_entry_size(1));
        dot->name_len = 1;
        dot->file_type = entry_file_type(MODE_DIRECTORY);
        memcpy(dot + 1, ".", 1);
        auto* dotdot = ref.at<DirEntryHeader>(dot->rec_len);
        dotdot->inode = directory.number;
        dotdot->rec_len = static_cast<u16>(m_block_size - dot->rec_len);
        dotdot->name_len = 2;
        dotdot->file_type = entry_file_type(MODE_DIRECTORY);
        memcpy(dotdot + 1, "..", 2);
        ref.mark_dirty();
        set_size(out, m_block_size);
        TRY(write_inode(out));
        return add_entry(directory, name, out.number, entry_file_type(MODE_DIRECTORY));
    };
    auto populated = populate();
    if (populated.is_error()) {
        out.disk.i_links_count = 0;
        (void)release(out);
        return populated.error();
    }
    directory.disk.i_links_count++; // the new ".."
    return write_inode(directory);
}

Result<void> FileSystem::symlink(Inode& directory, StringView name, StringView target, Inode& out)
{
    TRY(check_new_entry_directory(directory, name));
    if (target.is_empty())
        return Error::from_errno(ENOENT);
    if (target.length() >= m_block_size)
        return Error::from_errno(ENAMETOOLONG);
    TRY(check_name_is_free(directory, name));

    TRY(new_inode(directory, MODE_SYMLINK | 0777, out));
    out.disk.i_links_count = 1;
    auto populate = [&]() -> Result<void> {
        if (target.length() <= FAST_SYMLINK_MAX_LENGTH) {
            memcpy(out.disk.i_block, target.chars(), target.length());
            set_size(out, target.length());
            TRY(write_inode(out));
        } else {
            TRY(write(out, 0, target.chars(), target.length()));
        }
        return add_entry(directory, name, out.number, entry_file_type(MODE_SYMLINK));
    };
    auto populated = populate();
    if (populated.is_error()) {
        out.disk.i_links_count = 0;
        (void)release(out);
        return populated.error();
    }
    return {};
}

Result<void> FileSystem::link(Inode& directory, StringView name, Inode& target)
{
    TRY(check_new_entry_directory(directory, name));
    if (target.is_directory())
        return Error::from_errno(EPERM);
    if (target.disk.i_links_count >= LINK_MAX)
        return Error::from_errno(EMLINK);
    TRY(check_name_is_free(directory, name));
    TRY(add_entry(directory, name, target.number, entry_file_type(target.disk.i_mode)));
    target.disk.i_links_count++;
    target.disk.i_ctime = now();
    return write_inode(target);
}

Result<void> FileSystem::unlink(Inode& directory, StringView name, Inode& victim)
{
    TRY(check_writable());
    const u32 number = TRY(lookup(directory, name));
    TRY(read_inode(number, victim));
    if (victim.is_directory())
        return Error::from_errno(EISDIR);
    TRY(remove_entry(directory, name));
    if (victim.disk.i_links_count > 0)
        victim.disk.i_links_count--;
    victim.disk.i_ctime = now();
    return write_inode(victim);
}

Result<void> FileSystem::rmdir(Inode& directory, StringView name, Inode& victim)
{
    TRY(check_writable());
    if (name == StringView(".", 1))
        return Error::from_errno(EINVAL);
    if (name == StringView("..", 2))
        return Error::from_errno(ENOTEMPTY);
    const u32 number = TRY(lookup(directory, name));
    TRY(read_inode(number, victim));
    if (!victim.is_directory())
        return Error::from_errno(ENOTDIR);
    if (!TRY(is_empty_directory(victim)))
        return Error::from_errno(ENOTEMPTY);
    TRY(remove_entry(directory, name));
    victim.disk.i_links_count = 0; // its name and its "." are both gone
    victim.disk.i_ctime = now();
    TRY(write_inode(victim));
    if (directory.disk.i_links_count > 0)
        directory.disk.i_links_count--; // its ".." is gone
    return write_inode(directory);
}

// Whether `ancestor` is `directory` or above it.
Result<bool> FileSystem::is_ancestor(u32 ancestor, Inode& directory)
{
    Inode current = directory;
    for (u32 depth = 0; depth < MAX_DIRECTORY_DEPTH; depth++) {
        if (current.number == ancestor)
            return true;
        if (current.number == ROOT_INO)
            return false;
        const u32 parent = TRY(lookup(current, StringView("..", 2)));
        TRY(read_inode(parent, current));
    }
    return Error::from_errno(EIO); // a ".." cycle: corrupt
}

Result<void> FileSystem::rename(
    Inode& old_directory, StringView old_name, Inode& new_directory_in, StringView new_name, Inode& replaced)
{
    TRY(check_writable());
    replaced.number = 0;
    if (!old_directory.is_directory() || !new_directory_in.is_directory())
        return Error::from_errno(ENOTDIR);
    TRY(check_name(old_name));
    TRY(check_name(new_name));
    const auto is_dot_name = [](StringView n) { return n == StringView(".", 1) || n == StringView("..", 2); };
    if (is_dot_name(old_name) || is_dot_name(new_name))
        return Error::from_errno(EBUSY);
    // One directory given twice as two snapshots: work on one of them.
    const bool same_directory = old_directory.number == new_directory_in.number;
    Inode& new_directory = same_directory ? old_directory : new_directory_in;

    const u32 source_number = TRY(lookup(old_directory, old_name));
    Inode source;
    TRY(read_inode(source_number, source));

    Inode target;
    bool target_exists = false;
    auto existing = lookup(new_directory, new_name);
    if (!existing.is_error()) {
        if (existing.value() == source_number)
            return {}; // two names of one inode: rename does nothing (POSIX)
        TRY(read_inode(existing.value(), target));
        target_exists = true;
        if (source.is_directory()) {
            if (!target.is_directory())
                return Error::from_errno(ENOTDIR);
            if (!TRY(is_empty_directory(target)))
                return Error::from_errno(ENOTEMPTY);
        } else if (target.is_directory()) {
            return Error::from_errno(EISDIR);
        }
    } else if (existing.error().code() != ENOENT) {
        return existing.error();
    }

    const bool moves_directory = source.is_directory() && !same_directory;
    if (moves_directory) {
        if (TRY(is_ancestor(source_number, new_directory)))
            return Error::from_errno(EINVAL); // into itself or below
        if (!target_exists && new_directory.disk.i_links_count >= LINK_MAX)
            return Error::from_errno(EMLINK);
    }

    // The new name first: a failure (ENOSPC) then loses nothing.
    const u8 type = entry_file_type(source.disk.i_mode);
    if (target_exists) {
        TRY(set_entry(new_directory, new_name, source_number, type));
        if (target.is_directory()) {
            target.disk.i_links_count = 0;
            if (new_directory.disk.i_links_count > 0)
                new_directory.disk.i_links_count--; // the target's ".."
        } else if (target.disk.i_links_count > 0) {
            target.disk.i_links_count--;
        }
        target.disk.i_ctime = now();
        TRY(write_inode(target));
        replaced = target;
    } else {
        TRY(add_entry(new_directory, new_name, source_number, type));
    }
    TRY(remove_entry(old_directory, old_name));

    if (moves_directory) {
        TRY(set_entry(source, StringView("..", 2), new_directory.number, entry_file_type(MODE_DIRECTORY)));
        if (old_directory.disk.i_links_count > 0)
            old_directory.disk.i_links_count--;
        new_directory.disk.i_links_count++;
    }
    source.disk.i_ctime = now();
    TRY(write_inode(source));
    TRY(write_inode(old_directory));
    if (!same_directory)
        TRY(write_inode(new_directory));
    else
        new_directory_in = old_directory;
    return {};
}

Result<void> FileSystem::release(Inode& inode)
{
    TRY(check_writable());
    if (inode.disk.i_links_count != 0)
        return {}; // still named somewhere
    const u32 acl_sectors = inode.disk.i_file_acl ? sectors_per_block() : 0;
    const bool fast_symlink = inode.is_symlink() && inode.disk.i_blocks == acl_sectors;
    if (fast_symlink)
        memset(inode.disk.i_block, 0, sizeof(inode.disk.i_block));
    else
        TRY(truncate_blocks(inode, 0));

    if (inode.disk.i_file_acl) {
        // A shared extended-attribute block: drop our reference, free it with the last.
        const u32 block = inode.disk.i_file_acl;
        bool free_it = true;
        {
            BlockRef ref = TRY(m_cache.read(block));
            auto* header = ref.at<XattrHeader>(0);
            if (header->h_magic == XATTR_MAGIC && header->h_refcount > 1) {
                header->h_refcount--;
                ref.mark_dirty();
                free_it = false;
            }
        }
        if (free_it)
            TRY(free_block(block));
        inode.disk.i_blocks -= acl_sectors;
        inode.disk.i_file_acl = 0;
    }
    const bool was_directory = inode.is_directory();
    inode.disk.i_size = 0;
    inode.disk.i_size_high = 0;
    inode.disk.i_dtime = now() ? now() : 1; // a nonzero dtime marks a deleted inode
    TRY(write_inode(inode));
    return free_inode(inode.number, was_directory);
}

Result<usize> FileSystem::read_link(Inode& inode, char* buffer, usize capacity)
{
    if (!inode.is_symlink())
        return Error::from_errno(EINVAL);
    const u64 length = inode.size();
    if (length > capacity)
        return Error::from_errno(ENAMETOOLONG);
    const u32 acl_sectors = inode.disk.i_file_acl ? sectors_per_block() : 0;
    if (inode.disk.i_blocks == acl_sectors) {
        if (length > sizeof(inode.disk.i_block))
            return Error::from_errno(EIO);
        memcpy(buffer, inode.disk.i_block, length);
        return static_cast<usize>(length);
    }
    return read(inode, 0, buffer, static_cast<usize>(length));
}

} // namespace ext2
