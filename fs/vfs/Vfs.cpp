// The namespace: dentry cache, mounts, path resolution, and the default
// (page cache) inode operations.
#include "fs/vfs/Vfs.h"

#include "fs/pagecache/DirectIo.h"
#include "fs/pagecache/Reclaim.h"
#include "fs/pagecache/Writeback.h"
#include "fs/vfs/MappedFile.h"
#include "fs/vfs/PathWalk.h"
#include "kernel/block/BlockDevice.h"
#include "kernel/lib/Own.h"
#include "kernel/lib/String.h"
#include "kernel/log/Log.h"
#include "kernel/mm/Heap.h"

namespace vfs {

namespace {

Mutex g_namespace_lock{ LockRank::MutexFilesystem, "vfs namespace" };

constexpr usize MAX_FILESYSTEM_TYPES = 8;
const FileSystemType* g_types[MAX_FILESYSTEM_TYPES];
usize g_type_count = 0;

constexpr usize MAX_MOUNTS = 16;
Mount* g_mounts[MAX_MOUNTS]; // in mount order: a parent before its children
usize g_mount_count = 0;

// Walk operations over dentries and mounts (fs/vfs/PathWalk.h).
struct DentryWalkOps {
    using Node = Path;

    Result<Node> lookup(const Node& directory, StringView name)
    {
        Dentry& parent = *directory.dentry;
        Dentry* child = nullptr;
        for (Dentry& candidate : parent.children) {
            if (candidate.name_view() == name) {
                child = &candidate;
                break;
            }
        }
        if (!child) {
            Inode* inode = TRY(parent.inode->lookup(name));
            child = TRY(add_dentry(parent, name, inode));
        }
        Path result{ directory.mount, child };
        // Step into whatever is mounted here (mounts may stack).
        while (result.dentry->mounted)
            result = { result.dentry->mounted, result.dentry->mounted->root };
        return result;
    }
    NodeKind kind(const Node& node)
    {
        Inode* inode = node.dentry->inode;
        if (inode->is_directory())
            return NodeKind::Directory;
        if (inode->is_symlink())
            return NodeKind::Symlink;
        return NodeKind::Other;
    }
    Result<usize> read_link(const Node& node, char* buffer, usize capacity)
    {
        return node.dentry->inode->readlink(buffer, capacity);
    }
    Node parent(const Node& node)
    {
        Path at = node;
        // At the root of a mount: ".." is the parent of its mount point.
        while (at.dentry == at.mount->root && at.mount->parent)
            at = { at.mount->parent, at.mount->mountpoint };
        if (at.dentry->parent)
            at.dentry = at.dentry->parent;
        return at;
    }
    bool same(const Node& a, const Node& b) { return a.mount == b.mount && a.dentry == b.dentry; }
};

PathBuffer* allocate_path_buffer() { return static_cast<PathBuffer*>(kmalloc(sizeof(PathBuffer))); }

} // namespace

u8 dirent_type_of_mode(u32 mode)
{
    switch (mode & S_IFMT) {
    case S_IFREG:
        return DT_REG;
    case S_IFDIR:
        return DT_DIR;
    case S_IFLNK:
        return DT_LNK;
    case S_IFBLK:
        return DT_BLK;
    case S_IFCHR:
        return DT_CHR;
    case S_IFIFO:
        return DT_FIFO;
    case S_IFSOCK:
        return DT_SOCK;
    default:
        return DT_UNKNOWN;
    }
}

// --- Inode defaults ------------------------------------------------------------

Inode::Inode(SuperBlock& superblock_, u64 number_, u32 mode_)
    : superblock(superblock_)
    , number(number_)
    , mode(mode_)
{
}

Result<Inode*> Inode::lookup(StringView) { return Error::from_errno(ENOTDIR); }
Result<Inode*> Inode::create(StringView, u32) { return Error::from_errno(is_directory() ? EPERM : ENOTDIR); }
Result<Inode*> Inode::mkdir(StringView, u32) { return Error::from_errno(is_directory() ? EPERM : ENOTDIR); }
Result<Inode*> Inode::symlink(StringView, StringView)
{
    return Error::from_errno(is_directory() ? EPERM : ENOTDIR);
}
Result<void> Inode::link(StringView, Inode&) { return Error::from_errno(is_directory() ? EPERM : ENOTDIR); }
Result<void> Inode::unlink(StringView, Inode&) { return Error::from_errno(is_directory() ? EPERM : ENOTDIR); }
Result<void> Inode::rmdir(StringView, Inode&) { return Error::from_errno(is_directory() ? EPERM : ENOTDIR); }
Result<void> Inode::rename(StringView, Inode&, StringView) { return Error::from_errno(EXDEV); }
Result<bool> Inode::readdir(u64&, DirEntry&) { return Error::from_errno(ENOTDIR); }
Result<usize> Inode::readlink(char*, usize) { return Error::from_errno(EINVAL); }

Result<usize> Inode::read(File& file, u64 offset, mm::IoIter& buffer, u32 flags)
{
    if (is_directory())
        return Error::from_errno(EISDIR);
    if (!mapping)
        return Error::from_errno(EINVAL);
    return pagecache::buffered_read(*mapping, &file.readahead, offset, buffer, flags);
}

Result<usize> Inode::write(File&, u64 offset, mm::IoIter& buffer)
{
    if (is_directory())
        return Error::from_errno(EISDIR);
    if (!mapping)
        return Error::from_errno(EINVAL);
    // vfs::write has shortened the buffer to the filesystem's limit; a caller
    // that went around it still gets no end past that limit.
    if (buffer.count() == 0)
        return 0ul;
    if (offset >= superblock.max_file_size || buffer.count() > superblock.max_file_size - offset)
        return Error::from_errno(EFBIG);
    auto written = pagecache::buffered_write(*mapping, offset, buffer);
    if (mapping->size_bytes() != size) {
        size = mapping->size_bytes();
        TRY(size_changed());
    }
    return written;
}

Result<void> Inode::truncate(u64 new_size)
{
    if (is_directory())
        return Error::from_errno(EISDIR);
    if (mapping)
        pagecache::truncate_pages(*mapping, new_size);
    size = new_size;
    return size_changed();
}

Result<void> Inode::fsync(bool)
{
    if (!mapping || !mapping->has_backing_store())
        return {};
    return pagecache::fsync_range(*mapping, 0, ~0ul);
}

bool Inode::supports_direct_io() const
{
    return mapping && mapping->has_backing_store() && mapping->device();
}

Result<usize> Inode::direct_io(bool write, u64 offset, mm::IoIter& buffer)
{
    if (!supports_direct_io())
        return Error::from_errno(EINVAL);
    if (write) {
        auto written = pagecache::direct_write(*mapping, offset, buffer);
        if (mapping->size_bytes() != size) {
            size = mapping->size_bytes();
            TRY(size_changed());
        }
        return written;
    }
    return pagecache::direct_read(*mapping, offset, buffer);
}

Result<long> Inode::ioctl(File&, u32, unsigned long) { return Error::from_errno(ENOTTY); }

u32 Inode::poll(File&) { return DEFAULT_POLL_MASK; }

// Regular files and block devices map their page cache (ext2, ramfs, devfs);
// everything else cannot be mapped (Linux: no f_op->mmap).
Result<void> Inode::mmap(File& file, MmapRequest& request)
{
    if (!(is_regular() || is_block_device()) || !mapping)
        return Error::from_errno(ENODEV);
    request.backing = TRY(MappedFile::create(file));
    return {};
}

Result<u64> generic_llseek(File& file, i64 offset, int whence, u64 end)
{
    i64 base;
    switch (whence) {
    case SEEK_SET:
        base = 0;
        break;
    case SEEK_CUR:
        base = static_cast<i64>(file.position);
        break;
    case SEEK_END:
        base = static_cast<i64>(end);
        break;
    default:
        return Error::from_errno(EINVAL);
    }
    i64 position;
    if (__builtin_add_overflow(base, offset, &position) || position < 0)
        return Error::from_errno(EINVAL);
    file.position = static_cast<u64>(position);
    return file.position;
}

Result<u64> Inode::llseek(File& file, i64 offset, int whence)
{
    if (is_directory()) {
        // The position of a directory is its readdir cursor (what telldir
        // returns and getdents reports as d_off).
        if (whence == SEEK_END)
            return Error::from_errno(EINVAL);
        file.position = file.dir_cursor;
        const u64 position = TRY(generic_llseek(file, offset, whence, 0));
        file.dir_cursor = position;
        return position;
    }
    if ((whence == SEEK_DATA || whence == SEEK_HOLE) && (is_regular() || is_block_device())) {
        // No hole map: the whole file is data and the only hole is the
        // virtual one at its end (Linux's generic_file_llseek). An offset
        // at or past the end, or negative, is ENXIO.
        if (offset < 0 || static_cast<u64>(offset) >= size)
            return Error::from_errno(ENXIO);
        file.position = whence == SEEK_DATA ? static_cast<u64>(offset) : size;
        return file.position;
    }
    return generic_llseek(file, offset, whence, size);
}

Result<void> Inode::setattr(const SetAttr& attributes)
{
    if (attributes.valid & ATTR_SIZE) {
        if (is_directory())
            return Error::from_errno(EISDIR);
        if (!is_regular())
            return Error::from_errno(EINVAL);
        // A negative length is EINVAL (do_sys_ftruncate), one past the
        // filesystem's largest file EFBIG (inode_newsize_ok).
        if (attributes.size > MAX_FILE_OFFSET)
            return Error::from_errno(EINVAL);
        if (attributes.size > superblock.max_file_size)
            return Error::from_errno(EFBIG);
        TRY(truncate(attributes.size));
    }
    if (attributes.valid & ATTR_MODE)
        mode = (mode & S_IFMT) | (attributes.mode & 07777);
    if (attributes.valid & ATTR_UID)
        uid = attributes.uid;
    if (attributes.valid & ATTR_GID)
        gid = attributes.gid;
    if (attributes.valid & ATTR_ATIME)
        atime = attributes.atime;
    if (attributes.valid & ATTR_MTIME)
        mtime = attributes.mtime;
    if (attributes.valid & ATTR_CTIME)
        ctime = attributes.ctime;
    return attributes_changed();
}

void Inode::fill_stat(Stat& out)
{
    out.device = superblock.device_number;
    out.inode = number;
    out.mode = mode;
    out.links = links;
    out.uid = uid;
    out.gid = gid;
    out.size = size;
    out.blocks = (size + 511) / 512;
    out.block_size = PAGE_SIZE;
    out.rdev = rdev;
    out.atime = atime;
    out.mtime = mtime;
    out.ctime = ctime;
}

// --- dentries and mounts ----------------------------------------------------------

Mutex& namespace_lock() { return g_namespace_lock; }

void register_filesystem(const FileSystemType& type)
{
    if (g_type_count < MAX_FILESYSTEM_TYPES)
        g_types[g_type_count++] = &type;
}

Result<Dentry*> add_dentry(Dentry& parent, StringView name, Inode* inode)
{
    auto* dentry = new Dentry;
    if (!dentry)
        return Error::from_errno(ENOMEM);
    dentry->name = static_cast<char*>(kmalloc(name.length() + 1));
    if (!dentry->name) {
        delete dentry;
        return Error::from_errno(ENOMEM);
    }
    memcpy(dentry->name, name.chars(), name.length());
    dentry->name[name.length()] = 0;
    dentry->name_length = static_cast<u16>(name.length());
    dentry->parent = &parent;
    dentry->inode = inode;
    if (inode)
        inode->dentry_count++;
    parent.children.push_back(*dentry);
    return dentry;
}

// The dentry's memory, and its count on the inode (which an unlink may
// already have destroyed: then the dentry was the inode's last reference
// and nothing reads it).
static void free_dentry(Dentry& dentry, bool inode_alive)
{
    if (inode_alive && dentry.inode)
        dentry.inode->dentry_count--;
    kfree(dentry.name);
    delete &dentry;
}

void remove_dentry(Dentry& dentry)
{
    // Children of a removed directory are gone with it (it was empty, or
    // only cached names remain).
    while (Dentry* child = dentry.children.first())
        remove_dentry(*child);
    if (dentry.sibling_link.is_linked())
        IntrusiveList<Dentry, &Dentry::sibling_link>::remove(dentry);
    if (dentry.inode)
        dentry.inode->dentry_count--;
    if (dentry.holders) {
        dentry.removed = true; // freed by the last release_dentry
        dentry.parent = nullptr;
        return;
    }
    free_dentry(dentry, false);
}

void hold_dentry(Dentry& dentry) { dentry.holders++; }

void release_dentry(Dentry& dentry)
{
    if (--dentry.holders == 0 && dentry.removed)
        free_dentry(dentry, false); // counted off the inode by remove_dentry
}

// Post-order over `dentry`'s subtree: frees every child that nobody uses,
// then the inodes left unnamed. Returns whether `dentry` itself is now an
// unused leaf its parent may free.
static bool shrink_subtree(Dentry& dentry, u64& budget, u64& freed)
{
    for (Dentry& child : dentry.children) { // the body may unlink the current child
        if (budget == 0)
            break;
        if (!shrink_subtree(child, budget, freed))
            continue;
        Inode* inode = child.inode;
        // The inode's last name: the filesystem frees the inode first, or
        // keeps both.
        const bool last_name = inode && inode->dentry_count == 1;
        if (last_name && !inode->drop_unused())
            continue;
        IntrusiveList<Dentry, &Dentry::sibling_link>::remove(child);
        free_dentry(child, !last_name);
        freed++;
        budget--;
    }
    return dentry.children.is_empty() && !dentry.mounted && dentry.holders == 0
        && (!dentry.inode || dentry.inode->open_count == 0);
}

static u64 shrink_name_cache_locked(u64 max_names)
{
    u64 freed = 0;
    u64 budget = max_names;
    for (usize i = 0; i < g_mount_count && budget; i++) {
        Mount* mount = g_mounts[i];
        if (mount->superblock->names_reclaimable)
            (void)shrink_subtree(*mount->root, budget, freed); // a mount's root stays
    }
    return freed;
}

u64 shrink_name_cache(u64 max_names)
{
    MutexGuard guard(g_namespace_lock);
    return shrink_name_cache_locked(max_names);
}

// Reclaim's entry: never waits for the namespace mutex (its holder may be
// the one waiting for memory).
static u64 shrink_name_cache_if_free(u64 max_names)
{
    MutexTryGuard guard(g_namespace_lock);
    return guard.owns() ? shrink_name_cache_locked(max_names) : 0;
}

void register_name_cache_shrinker() { pagecache::register_shrinker(shrink_name_cache_if_free); }

Result<usize> path_of(const Path& path, char* out, usize capacity)
{
    MutexGuard guard(g_namespace_lock);
    if (!path.dentry || path.dentry->removed)
        return Error::from_errno(ENOENT);
    // Components from the leaf up, written right to left, then moved to the front.
    usize start = capacity;
    auto prepend = [&](const char* text, usize length) -> bool {
        if (length + 1 > start)
            return false;
        start -= length;
        memcpy(out + start, text, length);
        return true;
    };
    if (capacity < 2)
        return Error::from_errno(ENAMETOOLONG);
    out[--start] = '\0';
    Mount* mount = path.mount;
    const Dentry* dentry = path.dentry;
    for (;;) {
        if (mount && dentry == mount->root) {
            if (!mount->parent || !mount->mountpoint)
                break;
            dentry = mount->mountpoint;
            mount = mount->parent;
            continue;
        }
        if (!dentry->parent)
            break;
        if (!prepend(dentry->name, dentry->name_length) || !prepend("/", 1))
            return Error::from_errno(ENAMETOOLONG);
        dentry = dentry->parent;
    }
    if (start == capacity - 1 && !prepend("/", 1))
        return Error::from_errno(ENAMETOOLONG);
    const usize length = capacity - 1 - start;
    memmove(out, out + start, length + 1);
    return length;
}

Path root_path()
{
    if (g_mount_count == 0)
        return {};
    return { g_mounts[0], g_mounts[0]->root };
}

Result<Path> resolve(StringView path, u32 walk_flags, const Path* start)
{
    Path root = root_path();
    if (!root.mount)
        return Error::from_errno(ENOENT);
    PathBuffer* buffer = allocate_path_buffer();
    if (!buffer)
        return Error::from_errno(ENOMEM);
    DentryWalkOps ops;
    auto walked = walk_path(ops, root, start ? *start : root, path, walk_flags, *buffer);
    kfree(buffer);
    if (walked.is_error())
        return walked.error();
    if (!walked.value().exists)
        return Error::from_errno(ENOENT);
    return walked.value().node;
}

Result<void> lookup_path(StringView path, u32 walk_flags, Lookup& out, const Path* start)
{
    Path root = root_path();
    if (!root.mount)
        return Error::from_errno(ENOENT);
    PathBuffer* buffer = allocate_path_buffer();
    if (!buffer)
        return Error::from_errno(ENOMEM);
    DentryWalkOps ops;
    auto walked = walk_path(ops, root, start ? *start : root, path, walk_flags, *buffer);
    if (walked.is_error()) {
        kfree(buffer);
        return walked.error();
    }
    auto& result = walked.value();
    out.parent = result.parent;
    out.node = result.node;
    out.exists = result.exists;
    out.trailing_slash = result.trailing_slash;
    out.last_kind = result.last_kind;
    out.name_length = static_cast<u16>(min<usize>(result.last.length(), MAX_NAME_LENGTH));
    memcpy(out.name, result.last.chars(), out.name_length);
    out.name[out.name_length] = 0;
    kfree(buffer); // `last` pointed into it
    return {};
}

static Path mount_root_of(Mount* mount) { return { mount, mount->root }; }

Result<void> mount(StringView source, StringView target, StringView type_name, u32 flags)
{
    const FileSystemType* type = nullptr;
    for (usize i = 0; i < g_type_count; i++) {
        if (StringView(g_types[i]->name) == type_name)
            type = g_types[i];
    }
    if (!type)
        return Error::from_errno(ENODEV);
    if (g_mount_count >= MAX_MOUNTS)
        return Error::from_errno(EBUSY);

    MutexGuard guard(g_namespace_lock);
    Path at{};
    if (g_mount_count > 0) {
        at = TRY(resolve(target, WALK_FOLLOW | WALK_DIRECTORY));
        if (at.dentry->mounted)
            return Error::from_errno(EBUSY);
    }
    // Everything the mount table needs is allocated before the filesystem is
    // mounted: once it is (the device claimed, the superblock marked), nothing
    // may fail and leave it mounted with no one to unmount it.
    auto mount = TRY(adopt_own_or_enomem(new (nothrow) Mount));
    auto root = TRY(adopt_own_or_enomem(new (nothrow) Dentry));
    char* root_name = static_cast<char*>(kmalloc(2));
    if (!root_name)
        return Error::from_errno(ENOMEM);
    char message[160] = {};
    auto made = type->mount(source, flags, message, sizeof(message));
    if (made.is_error()) {
        kfree(root_name);
        log_error("vfs", "mount %.*s on %.*s (%s): errno %d%s%s", static_cast<int>(source.length()),
            source.chars(), static_cast<int>(target.length()), target.chars(), type->name,
            made.error().code(), message[0] ? ": " : "", message);
        return made.error();
    }
    if (message[0])
        log_warn("vfs", "%.*s: %s", static_cast<int>(source.length()), source.chars(), message);
    SuperBlock* superblock = made.value();
    superblock->type_name = type->name;

    root->name = root_name;
    memcpy(root->name, "/", 2);
    root->name_length = 1;
    root->inode = superblock->root;
    root->inode->dentry_count++;
    mount->superblock = superblock;
    mount->root = root.leak(); // the mount's from here
    const usize source_length = min(source.length(), sizeof(mount->source) - 1);
    memcpy(mount->source, source.chars(), source_length);
    const usize path_length = min(target.length(), sizeof(mount->path) - 1);
    memcpy(mount->path, target.chars(), path_length);
    if (at.mount) {
        mount->parent = at.mount;
        mount->mountpoint = at.dentry;
        at.dentry->mounted = mount.ptr();
    }
    log_info("vfs", "mounted %s (%s) on %s", mount->source, type->name, mount->path);
    g_mounts[g_mount_count++] = mount.leak(); // the mount table's
    (void)mount_root_of;
    return {};
}

// Every dentry of a mount, leaves first (nothing holds one: the mount is not busy).
static void free_mount_dentries(Dentry& dentry)
{
    while (Dentry* child = dentry.children.first()) {
        IntrusiveList<Dentry, &Dentry::sibling_link>::remove(*child);
        free_mount_dentries(*child);
    }
    free_dentry(dentry, true);
}

// `release`: free the superblock, its dentries and the mount (umount(2));
// false at power-off, where a busy filesystem is still synced and marked
// clean and nothing needs to be given back.
static Result<void> unmount_locked(usize index, bool release)
{
    Mount* mount = g_mounts[index];
    for (usize i = 0; i < g_mount_count; i++) {
        if (g_mounts[i]->parent == mount)
            return Error::from_errno(EBUSY);
    }
    // Linux's umount without MNT_DETACH: EBUSY while a file is open on it.
    if (release && mount->superblock->open_files)
        return Error::from_errno(EBUSY);
    TRY(mount->superblock->unmount());
    if (mount->mountpoint)
        mount->mountpoint->mounted = nullptr;
    for (usize i = index; i + 1 < g_mount_count; i++)
        g_mounts[i] = g_mounts[i + 1];
    g_mount_count--;
    log_info("vfs", "unmounted %s from %s", mount->source, mount->path);
    if (release) {
        // Dentries first (they count on their inodes), then the superblock,
        // which frees its inodes.
        free_mount_dentries(*mount->root);
        delete mount->superblock;
        delete mount;
    }
    return {};
}

Result<void> unmount(StringView target)
{
    MutexGuard guard(g_namespace_lock);
    Path at = TRY(resolve(target, WALK_FOLLOW));
    for (usize i = 0; i < g_mount_count; i++) {
        if (g_mounts[i] == at.mount && at.dentry == at.mount->root && g_mounts[i]->parent)
            return unmount_locked(i, true);
    }
    return Error::from_errno(EINVAL);
}

Result<void> sync_all()
{
    Result<void> status;
    for (usize i = g_mount_count; i-- > 0;) {
        auto result = g_mounts[i]->superblock->sync();
        if (result.is_error() && !status.is_error())
            status = result.error();
    }
    return status;
}

void shutdown()
{
    MutexGuard guard(g_namespace_lock);
    while (g_mount_count > 1) {
        auto result = unmount_locked(g_mount_count - 1, false);
        if (result.is_error()) {
            log_error(
                "vfs", "unmount %s: errno %d", g_mounts[g_mount_count - 1]->path, result.error().code());
            g_mount_count--;
        }
    }
}

void for_each_mount(void (*fn)(const Mount&, void*), void* context)
{
    for (usize i = 0; i < g_mount_count; i++)
        fn(*g_mounts[i], context);
}

} // namespace vfs
