#include "fs/ramfs/RamFs.h"

#include "kernel/lib/String.h"
#include "kernel/mm/Heap.h"

namespace ramfs {

namespace {

u64 g_next_inode = 1;

struct RamSuperBlock final : vfs::SuperBlock { };

} // namespace

RamInode::RamInode(vfs::SuperBlock& superblock_, u64 number_, u32 mode_)
    : Inode(superblock_, number_, mode_)
    , m_space(pagecache::memory_only_operations(), nullptr, PAGE_SIZE, this)
{
    links = is_directory() ? 2 : 1;
    if (is_regular())
        mapping = &m_space;
}

RamInode::~RamInode()
{
    m_space.release();
    kfree(m_target);
}

RamInode::Entry* RamInode::find(StringView name)
{
    for (Entry& entry : m_entries) {
        if (StringView(entry.name, entry.name_length) == name)
            return &entry;
    }
    return nullptr;
}

Result<vfs::Inode*> RamInode::lookup(StringView name)
{
    if (!is_directory())
        return Error::from_errno(ENOTDIR);
    if (name.length() > vfs::MAX_NAME_LENGTH)
        return Error::from_errno(ENAMETOOLONG);
    if (Entry* entry = find(name))
        return entry->inode;
    return Error::from_errno(ENOENT);
}

Result<vfs::Inode*> RamInode::add(StringView name, Inode* inode)
{
    if (name.length() > vfs::MAX_NAME_LENGTH)
        return Error::from_errno(ENAMETOOLONG);
    if (find(name))
        return Error::from_errno(EEXIST);
    auto* entry = new Entry;
    char* copy = static_cast<char*>(kmalloc(name.length() + 1));
    if (!entry || !copy) {
        delete entry;
        kfree(copy);
        return Error::from_errno(ENOMEM);
    }
    memcpy(copy, name.chars(), name.length());
    copy[name.length()] = 0;
    entry->name = copy;
    entry->name_length = static_cast<u16>(name.length());
    entry->inode = inode;
    m_entries.push_back(*entry);
    m_entry_count++;
    if (inode->is_directory()) {
        links++;
        if (auto* ram = static_cast<RamInode*>(inode); &ram->superblock == &superblock)
            ram->m_parent = this;
    }
    return inode;
}

void RamInode::detach(Entry* entry)
{
    m_entries.remove(*entry);
    m_entry_count--;
    if (entry->inode->is_directory())
        links--;
    kfree(entry->name);
    delete entry;
}

Result<void> RamInode::attach(StringView name, Inode* inode)
{
    TRY(add(name, inode));
    return {};
}

Result<vfs::Inode*> RamInode::create(StringView name, u32 new_mode)
{
    if (!is_directory())
        return Error::from_errno(ENOTDIR);
    auto* inode = new RamInode(superblock, g_next_inode++, new_mode);
    if (!inode)
        return Error::from_errno(ENOMEM);
    auto added = add(name, inode);
    if (added.is_error())
        delete inode;
    return added;
}

Result<vfs::Inode*> RamInode::mkdir(StringView name, u32 new_mode)
{
    return create(name, S_IFDIR | (new_mode & 07777));
}

Result<vfs::Inode*> RamInode::symlink(StringView name, StringView target)
{
    if (target.is_empty())
        return Error::from_errno(ENOENT);
    if (target.length() >= vfs::MAX_PATH_LENGTH)
        return Error::from_errno(ENAMETOOLONG);
    Inode* inode = TRY(create(name, S_IFLNK | 0777));
    auto* ram = static_cast<RamInode*>(inode);
    ram->m_target = static_cast<char*>(kmalloc(target.length() + 1));
    if (!ram->m_target)
        return Error::from_errno(ENOMEM);
    memcpy(ram->m_target, target.chars(), target.length());
    ram->size = target.length();
    return inode;
}

Result<void> RamInode::link(StringView name, Inode& target)
{
    if (!is_directory())
        return Error::from_errno(ENOTDIR);
    if (target.is_directory())
        return Error::from_errno(EPERM);
    TRY(add(name, &target));
    target.links++;
    return {};
}

Result<void> RamInode::unlink(StringView name, Inode& victim)
{
    Entry* entry = find(name);
    if (!entry)
        return Error::from_errno(ENOENT);
    if (victim.is_directory())
        return Error::from_errno(EISDIR);
    detach(entry);
    victim.links--;
    return {};
}

Result<void> RamInode::rmdir(StringView name, Inode& victim)
{
    Entry* entry = find(name);
    if (!entry)
        return Error::from_errno(ENOENT);
    if (!victim.is_directory())
        return Error::from_errno(ENOTDIR);
    if (static_cast<RamInode&>(victim).m_entry_count > 0)
        return Error::from_errno(ENOTEMPTY);
    detach(entry);
    victim.links = 0;
    return {};
}

Result<void> RamInode::rename(StringView old_name, Inode& new_directory, StringView new_name)
{
    if (&new_directory.superblock != &superblock)
        return Error::from_errno(EXDEV);
    auto& target_dir = static_cast<RamInode&>(new_directory);
    Entry* entry = find(old_name);
    if (!entry)
        return Error::from_errno(ENOENT);
    Inode* moving = entry->inode;
    if (moving->is_directory()) {
        // Not into itself or below.
        for (RamInode* at = &target_dir; at; at = at->m_parent) {
            if (at == moving)
                return Error::from_errno(EINVAL);
        }
    }
    if (Entry* existing = target_dir.find(new_name)) {
        Inode* old = existing->inode;
        if (moving->is_directory() && !old->is_directory())
            return Error::from_errno(ENOTDIR);
        if (!moving->is_directory() && old->is_directory())
            return Error::from_errno(EISDIR);
        if (old->is_directory() && static_cast<RamInode*>(old)->m_entry_count > 0)
            return Error::from_errno(ENOTEMPTY);
        target_dir.detach(existing);
        old->links = old->is_directory() ? 0 : old->links - 1;
    }
    detach(entry);
    TRY(target_dir.add(new_name, moving));
    return {};
}

Result<bool> RamInode::readdir(u64& cursor, vfs::DirEntry& out)
{
    if (!is_directory())
        return Error::from_errno(ENOTDIR);
    // Cursor: 0 ".", 1 "..", then 2 + index into the list.
    if (cursor < 2) {
        out.inode = cursor == 0 ? number : (m_parent ? m_parent->number : number);
        out.type = DT_DIR;
        out.name_length = static_cast<u16>(cursor + 1);
        memcpy(out.name, "..", out.name_length);
        out.name[out.name_length] = 0;
        cursor++;
        return true;
    }
    u64 index = 0;
    for (Entry& entry : m_entries) {
        if (index++ < cursor - 2)
            continue;
        out.inode = entry.inode->number;
        out.type = vfs::dirent_type_of_mode(entry.inode->mode);
        out.name_length = entry.name_length;
        memcpy(out.name, entry.name, entry.name_length + 1);
        cursor++;
        return true;
    }
    return false;
}

Result<usize> RamInode::readlink(char* buffer, usize capacity)
{
    if (!is_symlink() || !m_target)
        return Error::from_errno(EINVAL);
    if (size > capacity)
        return Error::from_errno(ENAMETOOLONG);
    memcpy(buffer, m_target, size);
    return static_cast<usize>(size);
}

void RamInode::evict()
{
    // Its pages go; the object stays (a dentry lookup can no longer reach it).
    pagecache::truncate_pages(m_space, 0);
}

// Superblocks without a device get their own anonymous device number, as
// Linux's get_anon_bdev() gives them (major 0, minors from 1): stat's st_dev
// tells two ramfs mounts apart. Mounts are made under the namespace mutex.
static u32 g_next_anonymous_minor = 1;

Result<vfs::SuperBlock*> make_superblock(const char* type_name)
{
    auto* superblock = new RamSuperBlock;
    if (!superblock)
        return Error::from_errno(ENOMEM);
    superblock->type_name = type_name;
    superblock->device_number = g_next_anonymous_minor++; // major 0: the encoding is the minor (< 256)
    auto* root = new RamInode(*superblock, g_next_inode++, S_IFDIR | 0755);
    if (!root)
        return Error::from_errno(ENOMEM);
    superblock->root = root;
    return static_cast<vfs::SuperBlock*>(superblock);
}

static Result<vfs::SuperBlock*> mount_ramfs(StringView, u32, char*, usize)
{
    return make_superblock("ramfs");
}

static const vfs::FileSystemType g_ramfs_type = { "ramfs", mount_ramfs };

void register_filesystem() { vfs::register_filesystem(g_ramfs_type); }

} // namespace ramfs
