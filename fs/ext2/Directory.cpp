// ext2 linked directories [ext2-doc §4.1]: each directory block is a chain of
// entries whose rec_len values add up to exactly the block size. An entry with
// inode 0 is unused. Removing an entry merges it into the previous entry of
// its block (or zeroes its inode if it is first); inserting reuses an unused
// entry or splits the slack off the end of a used one, else appends a block.
#include "fs/ext2/FileSystem.h"

#include "kernel/lib/String.h"

namespace ext2 {

namespace {

// The entry at `offset` of a block, or null when its header would not fit in
// the block or its fields do not: rec_len and name_len are read only once
// the whole 8-byte header is known to lie inside the block.
DirEntryHeader* valid_entry_at(const BlockRef& ref, usize offset, u32 block_size)
{
    if (offset > block_size || block_size - offset < sizeof(DirEntryHeader))
        return nullptr;
    auto* entry = ref.at<DirEntryHeader>(offset);
    const bool valid = entry->rec_len >= dir_entry_size(0) && (entry->rec_len & 3) == 0
        && entry->rec_len <= block_size - offset && dir_entry_size(entry->name_len) <= entry->rec_len;
    return valid ? entry : nullptr;
}

// A directory's blocks are distinct blocks of the filesystem, so a directory
// larger than the filesystem is corrupt (EIO). Refusing it bounds every scan:
// an i_size of up to 4 GiB over holes, or over one block mapped again and
// again by its indirect blocks, would otherwise take seconds per lookup.
Result<u64> directory_size(const Inode& directory, const SuperBlock& super, u32 block_size)
{
    const u64 size = directory.size();
    if (size > static_cast<u64>(super.s_blocks_count) * block_size)
        return Error::from_errno(EIO);
    return size;
}

bool entry_has_name(const DirEntryHeader* entry, StringView name)
{
    return entry->inode != 0 && entry->name_len == name.length()
        && memcmp(reinterpret_cast<const char*>(entry + 1), name.chars(), name.length()) == 0;
}

void fill_entry(DirEntryHeader* entry, StringView name, u32 number, u8 file_type)
{
    entry->inode = number;
    entry->name_len = static_cast<u8>(name.length());
    entry->file_type = file_type;
    char* chars = reinterpret_cast<char*>(entry + 1);
    memcpy(chars, name.chars(), name.length());
    // Zero the alignment padding so the block holds no stale bytes.
    memset(chars + name.length(), 0, dir_entry_size(name.length()) - sizeof(DirEntryHeader) - name.length());
}

} // namespace

u8 FileSystem::entry_file_type(u16 mode) const
{
    return (m_super.s_feature_incompat & INCOMPAT_FILETYPE) ? file_type_of_mode(mode) : FT_UNKNOWN;
}

Result<void> FileSystem::touch_directory(Inode& directory)
{
    directory.disk.i_mtime = directory.disk.i_ctime = now();
    // The htree index (dir_index) is not maintained here: drop the flag so
    // that e2fsck and other drivers treat the directory as linear, which its
    // blocks still validly are.
    directory.disk.i_flags &= ~INDEX_FL;
    return write_inode(directory);
}

// Calls `visit(ref, entry, offset, previous)` for each valid entry of each
// block of `directory` until it returns true; EIO on a corrupt block.
template <typename Visit>
static Result<bool> for_each_entry(
    FileSystem& fs, BlockCache& cache, Inode& directory, u32 block_size, Visit visit)
{
    const u64 blocks = TRY(directory_size(directory, fs.superblock(), block_size)) / block_size;
    for (u64 file_block = 0; file_block < blocks; file_block++) {
        const u32 block = TRY(fs.map_block(directory, file_block, false));
        if (block == 0)
            continue; // a hole in a directory: nothing there to visit
        BlockRef ref = TRY(cache.read(block));
        DirEntryHeader* previous = nullptr;
        for (usize offset = 0; offset < block_size;) {
            auto* entry = valid_entry_at(ref, offset, block_size);
            if (!entry)
                return Error::from_errno(EIO);
            if (visit(ref, entry, file_block * block_size + offset, previous))
                return true;
            previous = entry;
            offset += entry->rec_len;
        }
    }
    return false;
}

Result<u32> FileSystem::lookup(Inode& directory, StringView name, u8* file_type)
{
    if (!directory.is_directory())
        return Error::from_errno(ENOTDIR);
    if (name.length() > MAX_NAME_LENGTH)
        return Error::from_errno(ENAMETOOLONG);
    u32 found = 0;
    u8 found_type = FT_UNKNOWN;
    TRY(for_each_entry(
        *this, m_cache, directory, m_block_size, [&](BlockRef&, DirEntryHeader* entry, u64, DirEntryHeader*) {
            if (!entry_has_name(entry, name))
                return false;
            found = entry->inode;
            found_type = entry->file_type;
            return true;
        }));
    if (!found)
        return Error::from_errno(ENOENT);
    if (found > m_super.s_inodes_count)
        return Error::from_errno(EIO);
    if (file_type)
        *file_type = found_type;
    return found;
}

Result<bool> FileSystem::read_dir(Inode& directory, u64& offset, DirEntryInfo& out)
{
    if (!directory.is_directory())
        return Error::from_errno(ENOTDIR);
    const u64 size = TRY(directory_size(directory, m_super, m_block_size));
    while (offset < size) {
        const u64 file_block = offset / m_block_size;
        const u32 block = TRY(map_block(directory, file_block, false));
        if (block == 0) {
            offset = (file_block + 1) * m_block_size;
            continue;
        }
        BlockRef ref = TRY(m_cache.read(block));
        const usize wanted = offset % m_block_size;
        // Scan from the block start: `offset` may point into the middle of an
        // entry if the directory changed since the last call.
        for (usize position = 0; position < m_block_size;) {
            auto* entry = valid_entry_at(ref, position, m_block_size);
            if (!entry)
                return Error::from_errno(EIO);
            const usize next = position + entry->rec_len;
            if (position >= wanted && entry->inode != 0) {
                out.inode = entry->inode;
                out.file_type = (m_super.s_feature_incompat & INCOMPAT_FILETYPE)
                    ? entry->file_type
                    : static_cast<u8>(FT_UNKNOWN);
                out.name_length = entry->name_len;
                memcpy(out.name, entry + 1, entry->name_len);
                out.name[entry->name_len] = 0;
                offset = file_block * m_block_size + next;
                return true;
            }
            position = next;
        }
        offset = (file_block + 1) * m_block_size;
    }
    return false;
}

Result<bool> FileSystem::is_empty_directory(Inode& directory)
{
    bool empty = true;
    TRY(for_each_entry(
        *this, m_cache, directory, m_block_size, [&](BlockRef&, DirEntryHeader* entry, u64, DirEntryHeader*) {
            if (entry->inode == 0)
                return false;
            const StringView name(reinterpret_cast<const char*>(entry + 1), entry->name_len);
            if (name == StringView(".", 1) || name == StringView("..", 2))
                return false;
            empty = false;
            return true;
        }));
    return empty;
}

Result<void> FileSystem::add_entry(Inode& directory, StringView name, u32 number, u8 file_type)
{
    const u32 needed = dir_entry_size(name.length());
    const bool placed = TRY(for_each_entry(*this, m_cache, directory, m_block_size,
        [&](BlockRef& ref, DirEntryHeader* entry, u64, DirEntryHeader*) {
            const u32 used = entry->inode ? dir_entry_size(entry->name_len) : 0;
            if (entry->rec_len < used + needed)
                return false;
            if (entry->inode) {
                // Split: the used part keeps its entry, the slack becomes ours.
                auto* fresh = reinterpret_cast<DirEntryHeader*>(reinterpret_cast<u8*>(entry) + used);
                fresh->rec_len = static_cast<u16>(entry->rec_len - used);
                entry->rec_len = static_cast<u16>(used);
                entry = fresh;
            }
            fill_entry(entry, name, number, file_type);
            ref.mark_dirty();
            return true;
        }));
    if (!placed) {
        // No room: a new block at the end, one entry spanning it.
        const u64 file_block = directory.size() / m_block_size;
        const u32 block = TRY(map_block(directory, file_block, true));
        BlockRef ref = TRY(m_cache.zeroed(block));
        auto* entry = ref.at<DirEntryHeader>(0);
        entry->rec_len = static_cast<u16>(m_block_size);
        fill_entry(entry, name, number, file_type);
        ref.mark_dirty();
        set_size(directory, (file_block + 1) * m_block_size);
    }
    return touch_directory(directory);
}

Result<void> FileSystem::remove_entry(Inode& directory, StringView name)
{
    const bool found = TRY(for_each_entry(*this, m_cache, directory, m_block_size,
        [&](BlockRef& ref, DirEntryHeader* entry, u64, DirEntryHeader* previous) {
            if (!entry_has_name(entry, name))
                return false;
            if (previous)
                previous->rec_len = static_cast<u16>(previous->rec_len + entry->rec_len);
            else
                entry->inode = 0;
            ref.mark_dirty();
            return true;
        }));
    if (!found)
        return Error::from_errno(ENOENT);
    return touch_directory(directory);
}

Result<void> FileSystem::set_entry(Inode& directory, StringView name, u32 number, u8 file_type)
{
    const bool found = TRY(for_each_entry(*this, m_cache, directory, m_block_size,
        [&](BlockRef& ref, DirEntryHeader* entry, u64, DirEntryHeader*) {
            if (!entry_has_name(entry, name))
                return false;
            entry->inode = number;
            entry->file_type = file_type;
            ref.mark_dirty();
            return true;
        }));
    if (!found)
        return Error::from_errno(ENOENT);
    return touch_directory(directory);
}

} // namespace ext2
