// ramfs: a filesystem that lives only in the page cache and the dentry tree
// (the root, filled from the initramfs). File data are memory-only pages;
// directories keep their children in a list.
#pragma once

#include "fs/vfs/Vfs.h"

namespace ramfs {

class RamInode : public vfs::Inode {
public:
    RamInode(vfs::SuperBlock& superblock, u64 number, u32 mode);
    ~RamInode() override;

    Result<Inode*> lookup(StringView name) override;
    Result<Inode*> create(StringView name, u32 mode) override;
    Result<Inode*> mkdir(StringView name, u32 mode) override;
    Result<Inode*> symlink(StringView name, StringView target) override;
    Result<void> link(StringView name, Inode& target) override;
    Result<void> unlink(StringView name, Inode& victim) override;
    Result<void> rmdir(StringView name, Inode& victim) override;
    Result<void> rename(StringView old_name, Inode& new_directory, StringView new_name) override;
    Result<bool> readdir(u64& cursor, vfs::DirEntry& out) override;
    Result<usize> readlink(char* buffer, usize capacity) override;
    void evict() override;

    // Add an existing inode under `name` (device nodes made by devfs).
    Result<void> attach(StringView name, Inode* inode);

private:
    struct Entry {
        ListNode link;
        char* name;
        u16 name_length;
        Inode* inode;
    };
    Entry* find(StringView name);
    Result<Inode*> add(StringView name, Inode* inode);
    void detach(Entry* entry);

    pagecache::Mapping m_space; // memory-only file data
    IntrusiveList<Entry, &Entry::link> m_entries;
    u64 m_entry_count = 0;
    char* m_target = nullptr; // symlinks
    RamInode* m_parent = nullptr;
};

// A fresh ramfs superblock (also the base of devfs).
Result<vfs::SuperBlock*> make_superblock(const char* type_name);
void register_filesystem();

// Unpack a cpio "newc" archive into the tree under `root` (absolute paths).
Result<void> unpack_initramfs(const u8* archive, usize size);

} // namespace ramfs
