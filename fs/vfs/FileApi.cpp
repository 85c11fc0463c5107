// open(2) and friends over the VFS, with Linux's flag semantics.
#include "fs/vfs/FileApi.h"

#include "fs/pagecache/DirectIo.h"
#include "fs/pagecache/Writeback.h"
#include "fs/vfs/PathWalk.h"
#include "kernel/lib/String.h"
#include "kernel/mm/Heap.h"

namespace vfs {

namespace {

// The directory that would hold the last component of `path`, and that name.
struct ParentAndName {
    Path parent;
    char name[MAX_NAME_LENGTH + 1];
    usize name_length;
    bool trailing_slash;
};

// Split `path` into its directory part (resolved) and last component.
Result<void> resolve_parent(StringView path, ParentAndName& out)
{
    if (path.is_empty())
        return Error::from_errno(ENOENT);
    if (path.length() >= MAX_PATH_LENGTH)
        return Error::from_errno(ENAMETOOLONG);
    usize end = path.length();
    out.trailing_slash = false;
    while (end > 1 && path[end - 1] == '/') {
        end--;
        out.trailing_slash = true;
    }
    usize start = end;
    while (start > 0 && path[start - 1] != '/')
        start--;
    const StringView name = path.substring(start, end - start);
    if (name.is_empty())
        return Error::from_errno(EEXIST); // "/" itself
    if (name.length() > MAX_NAME_LENGTH)
        return Error::from_errno(ENAMETOOLONG);
    StringView directory = path.substring(0, start);
    if (directory.is_empty())
        directory = StringView(".", 1);
    out.parent = TRY(resolve(directory, WALK_FOLLOW | WALK_DIRECTORY));
    memcpy(out.name, name.chars(), name.length());
    out.name[name.length()] = 0;
    out.name_length = name.length();
    return {};
}

// Only slashes: the root itself, which rmdir and rename refuse with EBUSY
// and unlink with EISDIR (Linux's LAST_ROOT).
bool is_root(StringView path)
{
    if (path.is_empty())
        return false;
    for (usize i = 0; i < path.length(); i++) {
        if (path[i] != '/')
            return false;
    }
    return true;
}

bool is_dot_or_dotdot(const ParentAndName& p)
{
    return (p.name_length == 1 && p.name[0] == '.')
        || (p.name_length == 2 && p.name[0] == '.' && p.name[1] == '.');
}

// The child dentry of `parent` named `name`, from the cache or a lookup.
Result<Dentry*> child_of(Dentry& parent, StringView name)
{
    for (Dentry& child : parent.children) {
        if (child.name_view() == name)
            return &child;
    }
    Inode* inode = TRY(parent.inode->lookup(name));
    return add_dentry(parent, name, inode);
}

bool may_write(u32 flags) { return (flags & O_ACCMODE) != O_RDONLY; }
bool may_read(u32 flags) { return (flags & O_ACCMODE) != O_WRONLY; }

// An open file on `found` (namespace mutex held).
Result<File*> new_file(const Path& found, u32 flags)
{
    auto* file = new File;
    if (!file)
        return Error::from_errno(ENOMEM);
    file->path = found;
    file->inode = found.dentry->inode;
    file->flags = flags;
    file->inode->open_count++;
    file->inode->superblock.open_files++;
    hold_dentry(*found.dentry);
    return file;
}

} // namespace

Result<File*> open(StringView path, u32 flags, u32 mode)
{
    MutexGuard guard(namespace_lock());
    const bool exclusive = (flags & O_CREAT) && (flags & O_EXCL);
    // O_CREAT|O_EXCL does not follow a final symlink (the link exists: EEXIST);
    // plain O_CREAT follows it and creates its target, as Linux does.
    const u32 follow = (flags & O_NOFOLLOW) || exclusive ? 0u : u32(WALK_FOLLOW);
    Lookup lookup;
    TRY(lookup_path(path, follow | ((flags & O_DIRECTORY) ? u32(WALK_DIRECTORY) : 0u), lookup));
    Path found{};
    if (!lookup.exists) {
        if (!(flags & O_CREAT))
            return Error::from_errno(ENOENT);
        if (lookup.trailing_slash || (flags & O_DIRECTORY))
            return Error::from_errno(EISDIR);
        const StringView name(lookup.name, lookup.name_length);
        Inode* inode = TRY(lookup.parent.dentry->inode->create(name, S_IFREG | (mode & 07777)));
        Dentry* dentry = TRY(add_dentry(*lookup.parent.dentry, name, inode));
        found = { lookup.parent.mount, dentry };
    } else {
        found = lookup.node;
        if (exclusive)
            return Error::from_errno(EEXIST);
        // O_PATH|O_NOFOLLOW names the link itself (Linux).
        if ((flags & O_NOFOLLOW) && found.dentry->inode->is_symlink() && !(flags & O_PATH))
            return Error::from_errno(ELOOP);
    }

    Inode* inode = found.dentry->inode;
    if (flags & O_PATH)
        return new_file(found, flags);
    // Linux (fs/namei.c do_open): an existing directory with O_CREAT, or
    // opened for writing, is EISDIR.
    if (inode->is_directory() && (may_write(flags) || (flags & O_CREAT)))
        return Error::from_errno(EISDIR);
    if ((flags & O_DIRECT) && !inode->supports_direct_io() && !inode->is_directory())
        return Error::from_errno(EINVAL);
    // Linux truncates even for O_RDONLY (O_TRUNC asks for write permission).
    if ((flags & O_TRUNC) && inode->is_regular() && inode->size > 0) {
        MutexGuard inode_guard(inode->lock);
        TRY(inode->truncate(0));
    }
    return new_file(found, flags);
}

Result<File*> open_inode(Inode& inode, u32 flags)
{
    auto* file = new File;
    if (!file)
        return Error::from_errno(ENOMEM);
    file->inode = &inode;
    file->flags = flags;
    MutexGuard guard(namespace_lock());
    inode.open_count++;
    inode.superblock.open_files++;
    return file;
}

Result<void> close(File* file)
{
    if (!file)
        return Error::from_errno(EBADF);
    // AcqRel: the last dropper sees every other holder's writes before freeing.
    if (file->ref_count.sub_fetch(1, MemoryOrder::AcqRel) != 0)
        return {};
    // The file's own teardown first, outside the namespace lock: it may wait
    // for I/O (an io_uring ring cancels and drains its requests).
    file->inode->release(*file);
    {
        MutexGuard guard(namespace_lock());
        Inode* inode = file->inode;
        inode->superblock.open_files--;
        if (--inode->open_count == 0 && inode->links == 0)
            inode->evict();
        if (file->path.dentry)
            release_dentry(*file->path.dentry);
    }
    delete file;
    return {};
}

// Linux's rw_verify_area: a negative offset (one past LLONG_MAX, as u64), or
// an offset whose end would pass it, is EINVAL for every kind of file.
static Result<void> verify_area(u64 offset, usize count)
{
    if (offset > MAX_FILE_OFFSET || count > MAX_FILE_OFFSET - offset)
        return Error::from_errno(EINVAL);
    return {};
}

static Result<usize> do_read(File& file, mm::IoIter& buffer, u64 offset, u32 flags)
{
    if (!may_read(file.flags))
        return Error::from_errno(EBADF);
    Inode& inode = *file.inode;
    if (inode.is_directory())
        return Error::from_errno(EISDIR);
    TRY(verify_area(offset, buffer.count()));
    // Nothing lies past the filesystem's largest file (Linux's filemap_read).
    const u64 limit = inode.superblock.max_file_size;
    if (offset >= limit)
        return 0ul;
    const usize cut = buffer.count() > limit - offset ? static_cast<usize>(buffer.count() - (limit - offset)) : 0;
    buffer.truncate(buffer.count() - cut);
    auto done = [&]() -> Result<usize> {
        if (!(file.flags & O_DIRECT))
            return inode.read(file, offset, buffer, flags);
        if (!pagecache::direct_io_aligned(*inode.mapping, offset, buffer))
            return Error::from_errno(EINVAL);
        if (flags & pagecache::READ_NOWAIT)
            return Error::from_errno(EAGAIN); // a direct read always waits for the device
        return inode.direct_io(false, offset, buffer);
    }();
    buffer.expand(cut);
    return done;
}

static Result<usize> do_write(File& file, mm::IoIter& buffer, u64* offset_inout, bool append)
{
    if (!may_write(file.flags))
        return Error::from_errno(EBADF);
    Inode& inode = *file.inode;
    if (inode.is_directory())
        return Error::from_errno(EISDIR);
    TRY(verify_area(*offset_inout, buffer.count()));
    // The inode lock makes O_APPEND atomic: the end is read and written under it.
    MutexGuard guard(inode.lock);
    u64 offset = append ? inode.size : *offset_inout;
    // Linux's generic_write_check_limits: EFBIG at or past the filesystem's
    // largest file, a write that starts below it shortened to end there.
    // An empty write is 0 wherever it is.
    const u64 limit = inode.superblock.max_file_size;
    usize cut = 0;
    if (buffer.count() > 0) {
        if (offset >= limit)
            return Error::from_errno(EFBIG);
        if (buffer.count() > limit - offset)
            cut = static_cast<usize>(buffer.count() - (limit - offset));
    }
    if ((file.flags & O_DIRECT) && !pagecache::direct_io_aligned(*inode.mapping, offset, buffer))
        return Error::from_errno(EINVAL);
    buffer.truncate(buffer.count() - cut);
    auto written = (file.flags & O_DIRECT) ? inode.direct_io(true, offset, buffer) : inode.write(file, offset, buffer);
    buffer.expand(cut);
    if (!written.is_error())
        *offset_inout = offset + written.value();
    if (!written.is_error() && (file.flags & O_DSYNC))
        TRY(inode.fsync((file.flags & O_SYNC) != O_SYNC));
    return written;
}

// A FIFO has no position: its reads and writes may block for long and must
// not hold the position lock (Linux takes f_pos_lock only for regular files
// and directories).
static bool has_position(const File& file) { return (file.inode->mode & S_IFMT) != S_IFIFO; }

Result<usize> read(File& file, mm::IoIter& buffer)
{
    if (!has_position(file))
        return do_read(file, buffer, 0, 0);
    MutexGuard guard(file.position_lock);
    const usize n = TRY(do_read(file, buffer, file.position, 0));
    file.position += n;
    return n;
}

Result<usize> write(File& file, mm::IoIter& buffer)
{
    if (!has_position(file)) {
        u64 unused = 0;
        return do_write(file, buffer, &unused, false);
    }
    MutexGuard guard(file.position_lock);
    return do_write(file, buffer, &file.position, file.flags & O_APPEND);
}

Result<usize> pread(File& file, mm::IoIter& buffer, u64 offset, u32 flags)
{
    return do_read(file, buffer, offset, flags);
}

Result<usize> pwrite(File& file, mm::IoIter& buffer, u64 offset)
{
    // Linux: pwrite on an O_APPEND file appends (a long-standing quirk).
    return do_write(file, buffer, &offset, file.flags & O_APPEND);
}

Result<usize> read(File& file, void* buffer, usize length)
{
    mm::IoIter iter = mm::IoIter::kernel(buffer, length);
    return read(file, iter);
}

Result<usize> write(File& file, const void* buffer, usize length)
{
    mm::IoIter iter = mm::IoIter::kernel(buffer, length);
    return write(file, iter);
}

Result<usize> pread(File& file, void* buffer, usize length, u64 offset)
{
    mm::IoIter iter = mm::IoIter::kernel(buffer, length);
    return pread(file, iter, offset);
}

Result<usize> pwrite(File& file, const void* buffer, usize length, u64 offset)
{
    mm::IoIter iter = mm::IoIter::kernel(buffer, length);
    return pwrite(file, iter, offset);
}

Result<u64> lseek(File& file, i64 offset, int whence)
{
    MutexGuard guard(file.position_lock);
    return file.inode->llseek(file, offset, whence);
}

Result<long> ioctl(File& file, u32 request, unsigned long argument)
{
    return file.inode->ioctl(file, request, argument);
}

u32 poll(File& file, u32 events)
{
    // POLLERR and POLLHUP are reported whether asked for or not (poll(2)).
    return file.inode->poll(file) & (events | POLLERR | POLLHUP);
}

Result<void> mmap(File& file, MmapRequest& request)
{
    if (request.length == 0)
        return Error::from_errno(EINVAL);
    return file.inode->mmap(file, request);
}

static Result<void> apply_setattr(Inode& inode, const SetAttr& attributes)
{
    MutexGuard guard(inode.lock);
    return inode.setattr(attributes);
}

Result<void> fsetattr(File& file, const SetAttr& attributes)
{
    if ((attributes.valid & ATTR_SIZE) && !may_write(file.flags))
        return Error::from_errno(EINVAL); // as ftruncate on a read-only file
    return apply_setattr(*file.inode, attributes);
}

Result<void> setattr(StringView path, const SetAttr& attributes, bool follow)
{
    // Under the namespace mutex: an inode reached through a name alone (no
    // open file) may be evicted or reclaimed once the mutex is dropped.
    MutexGuard guard(namespace_lock());
    Inode* inode = TRY(resolve(path, follow ? u32(WALK_FOLLOW) : 0u)).dentry->inode;
    return apply_setattr(*inode, attributes);
}

Result<void> chmod(StringView path, u32 mode)
{
    SetAttr attributes;
    attributes.valid = ATTR_MODE;
    attributes.mode = mode;
    return setattr(path, attributes);
}

Result<void> chown(StringView path, u32 uid, u32 gid)
{
    SetAttr attributes;
    attributes.valid = ATTR_UID | ATTR_GID;
    attributes.uid = uid;
    attributes.gid = gid;
    return setattr(path, attributes);
}

Result<void> utimes(StringView path, u64 atime, u64 mtime)
{
    SetAttr attributes;
    attributes.valid = ATTR_ATIME | ATTR_MTIME;
    attributes.atime = atime;
    attributes.mtime = mtime;
    return setattr(path, attributes);
}

Result<void> fsync(File& file) { return file.inode->fsync(false); }
Result<void> fdatasync(File& file) { return file.inode->fsync(true); }

Result<void> ftruncate(File& file, u64 size)
{
    if (!may_write(file.flags))
        return Error::from_errno(EINVAL);
    if (!file.inode->is_regular())
        return Error::from_errno(file.inode->is_directory() ? EISDIR : EINVAL);
    SetAttr attributes;
    attributes.valid = ATTR_SIZE;
    attributes.size = size;
    return apply_setattr(*file.inode, attributes);
}

Result<void> fstat(File& file, Stat& out)
{
    file.inode->fill_stat(out);
    return {};
}

Result<void> drop_cache(File& file)
{
    Inode& inode = *file.inode;
    // Pages without a backing store (ramfs) are the file's only copy: they stay.
    if (!inode.mapping || inode.size == 0 || !inode.mapping->has_backing_store())
        return {};
    TRY(pagecache::write_and_wait_range(*inode.mapping, 0, inode.size - 1));
    pagecache::invalidate_range(*inode.mapping, 0, inode.size - 1);
    return {};
}

Result<void> stat(StringView path, Stat& out)
{
    MutexGuard guard(namespace_lock());
    Path found = TRY(resolve(path, WALK_FOLLOW));
    found.dentry->inode->fill_stat(out);
    return {};
}

Result<void> lstat(StringView path, Stat& out)
{
    MutexGuard guard(namespace_lock());
    Path found = TRY(resolve(path, 0));
    found.dentry->inode->fill_stat(out);
    return {};
}

// The parent directory of a name that is about to be created (mkdir,
// symlink): EEXIST if the name is "." or ".." or already exists.
static Result<void> resolve_new_name(StringView path, ParentAndName& out)
{
    TRY(resolve_parent(path, out));
    if (is_dot_or_dotdot(out))
        return Error::from_errno(EEXIST);
    auto existing = child_of(*out.parent.dentry, StringView(out.name, out.name_length));
    if (!existing.is_error())
        return Error::from_errno(EEXIST);
    if (existing.error().code() != ENOENT)
        return existing.error();
    return {};
}

Result<void> mkdir(StringView path, u32 mode)
{
    MutexGuard guard(namespace_lock());
    ParentAndName where;
    TRY(resolve_new_name(path, where));
    const StringView name(where.name, where.name_length);
    Inode* inode = TRY(where.parent.dentry->inode->mkdir(name, S_IFDIR | (mode & 07777)));
    TRY(add_dentry(*where.parent.dentry, name, inode));
    return {};
}

Result<void> unlink(StringView path)
{
    if (is_root(path))
        return Error::from_errno(EISDIR);
    MutexGuard guard(namespace_lock());
    ParentAndName where;
    TRY(resolve_parent(path, where));
    if (is_dot_or_dotdot(where))
        return Error::from_errno(EISDIR);
    const StringView name(where.name, where.name_length);
    Dentry* victim = TRY(child_of(*where.parent.dentry, name));
    if (victim->mounted)
        return Error::from_errno(EBUSY);
    if (victim->inode->is_directory())
        return Error::from_errno(EISDIR);
    if (where.trailing_slash)
        return Error::from_errno(ENOTDIR);
    Inode* inode = victim->inode;
    TRY(where.parent.dentry->inode->unlink(name, *inode));
    remove_dentry(*victim);
    if (inode->links == 0 && inode->open_count == 0)
        inode->evict();
    return {};
}

Result<void> rmdir(StringView path)
{
    if (is_root(path))
        return Error::from_errno(EBUSY);
    MutexGuard guard(namespace_lock());
    ParentAndName where;
    TRY(resolve_parent(path, where));
    if (where.name_length == 1 && where.name[0] == '.')
        return Error::from_errno(EINVAL);
    if (is_dot_or_dotdot(where))
        return Error::from_errno(ENOTEMPTY);
    const StringView name(where.name, where.name_length);
    Dentry* victim = TRY(child_of(*where.parent.dentry, name));
    if (!victim->inode->is_directory())
        return Error::from_errno(ENOTDIR);
    if (victim->mounted)
        return Error::from_errno(EBUSY);
    Inode* inode = victim->inode;
    TRY(where.parent.dentry->inode->rmdir(name, *inode));
    remove_dentry(*victim);
    if (inode->open_count == 0)
        inode->evict();
    return {};
}

Result<void> rename(StringView old_path, StringView new_path)
{
    if (is_root(old_path) || is_root(new_path))
        return Error::from_errno(EBUSY);
    MutexGuard guard(namespace_lock());
    ParentAndName from;
    ParentAndName to;
    TRY(resolve_parent(old_path, from));
    TRY(resolve_parent(new_path, to));
    if (is_dot_or_dotdot(from) || is_dot_or_dotdot(to))
        return Error::from_errno(EBUSY);
    if (from.parent.mount != to.parent.mount)
        return Error::from_errno(EXDEV);
    const StringView old_name(from.name, from.name_length);
    const StringView new_name(to.name, to.name_length);
    Dentry* source = TRY(child_of(*from.parent.dentry, old_name));
    if (source->mounted)
        return Error::from_errno(EBUSY);
    auto target = child_of(*to.parent.dentry, new_name);
    Inode* replaced = nullptr;
    if (!target.is_error()) {
        if (target.value() == source)
            return {};
        if (target.value()->mounted)
            return Error::from_errno(EBUSY);
        replaced = target.value()->inode;
    } else if (target.error().code() != ENOENT) {
        return target.error();
    }
    TRY(from.parent.dentry->inode->rename(old_name, *to.parent.dentry->inode, new_name));
    if (!target.is_error())
        remove_dentry(*target.value());
    // Move the dentry (and its cached subtree) under its new name.
    IntrusiveList<Dentry, &Dentry::sibling_link>::remove(*source);
    char* name = static_cast<char*>(kmalloc(new_name.length() + 1));
    if (name) {
        kfree(source->name);
        memcpy(name, new_name.chars(), new_name.length());
        name[new_name.length()] = 0;
        source->name = name;
        source->name_length = static_cast<u16>(new_name.length());
        source->parent = to.parent.dentry;
        to.parent.dentry->children.push_back(*source);
    } else {
        remove_dentry(*source); // forget it; a lookup finds it again
    }
    if (replaced && replaced->links == 0 && replaced->open_count == 0)
        replaced->evict();
    return {};
}

Result<void> symlink(StringView target, StringView link_path)
{
    MutexGuard guard(namespace_lock());
    ParentAndName where;
    TRY(resolve_new_name(link_path, where));
    const StringView name(where.name, where.name_length);
    Inode* inode = TRY(where.parent.dentry->inode->symlink(name, target));
    TRY(add_dentry(*where.parent.dentry, name, inode));
    return {};
}

Result<void> link(StringView old_path, StringView new_path, bool follow)
{
    MutexGuard guard(namespace_lock());
    Path existing = TRY(resolve(old_path, follow ? u32(WALK_FOLLOW) : 0u));
    ParentAndName where;
    TRY(resolve_new_name(new_path, where));
    if (existing.dentry->inode->is_directory())
        return Error::from_errno(EPERM);
    if (where.parent.mount != existing.mount)
        return Error::from_errno(EXDEV);
    const StringView name(where.name, where.name_length);
    TRY(where.parent.dentry->inode->link(name, *existing.dentry->inode));
    TRY(add_dentry(*where.parent.dentry, name, existing.dentry->inode));
    return {};
}

Result<usize> readlink(StringView path, char* buffer, usize capacity)
{
    MutexGuard guard(namespace_lock());
    Path found = TRY(resolve(path, 0));
    if (!found.dentry->inode->is_symlink())
        return Error::from_errno(EINVAL);
    return found.dentry->inode->readlink(buffer, capacity);
}

Result<void> truncate(StringView path, u64 size)
{
    File* file = TRY(open(path, O_WRONLY));
    auto result = ftruncate(*file, size);
    (void)close(file);
    return result;
}

Result<bool> readdir(File& file, DirEntry& out)
{
    if (!file.inode->is_directory())
        return Error::from_errno(ENOTDIR);
    MutexGuard guard(file.position_lock);
    return file.inode->readdir(file.dir_cursor, out);
}

Result<usize> getdents(File& file, void* buffer, usize capacity)
{
    if (!file.inode->is_directory())
        return Error::from_errno(ENOTDIR);
    MutexGuard guard(file.position_lock);
    auto* out = static_cast<u8*>(buffer);
    usize used = 0;
    for (;;) {
        u64 cursor = file.dir_cursor;
        DirEntry entry;
        const bool more = TRY(file.inode->readdir(cursor, entry));
        if (!more)
            break;
        const usize record = align_up<usize>(sizeof(LinuxDirent64) + entry.name_length + 1, 8);
        if (used + record > capacity) {
            if (used == 0)
                return Error::from_errno(EINVAL);
            break;
        }
        auto* dirent = reinterpret_cast<LinuxDirent64*>(out + used);
        dirent->d_ino = entry.inode;
        dirent->d_off = static_cast<i64>(cursor);
        dirent->d_reclen = static_cast<u16>(record);
        dirent->d_type = entry.type;
        memcpy(dirent->d_name, entry.name, entry.name_length);
        memset(dirent->d_name + entry.name_length, 0, record - sizeof(LinuxDirent64) - entry.name_length);
        used += record;
        file.dir_cursor = cursor;
    }
    return used;
}

} // namespace vfs
