// The VFS objects: inodes, dentries, superblocks, mounts and open files.
//
// - Inode: one file of one filesystem. Filesystems subclass it and override
//   the operations they support (Linux's inode_operations and
//   file_operations folded into one class). Its `mapping` is its page cache.
// - Dentry: a name in a directory, pointing at an inode. The dentry tree is
//   the cache of everything looked up so far; a dentry goes when its name is
//   removed, when its filesystem is unmounted, or (unused, on a filesystem
//   that can look it up again) when reclaim shrinks the cache. A dentry may
//   have a filesystem mounted on it.
// - Mount: a superblock attached at a dentry of a parent mount.
// - File: an open inode with a position, flags and readahead state.
//
// Locking: one namespace mutex serialises lookups and every change of names
// (create, unlink, rename, mount); reads and writes of open files take only
// their inode's mutex (and the page cache's locks).
#pragma once

#include "fs/pagecache/PageCache.h"
#include "fs/pagecache/Readahead.h"
#include "fs/vfs/PathWalk.h"
#include "kernel/lib/Atomic.h"
#include "kernel/lib/IntrusiveList.h"
#include "kernel/lib/Result.h"
#include "kernel/lib/StringView.h"
#include "kernel/mm/IoIter.h"
#include "kernel/mm/VmBacking.h"
#include "kernel/sync/Mutex.h"
#include "uapi/fcntl.h"
#include "uapi/poll.h"

namespace block {
class BlockDevice;
}

namespace vfs {

class Inode;
struct File;
struct SuperBlock;

// One directory entry as readdir produces it.
struct DirEntry {
    u64 inode;
    u8 type; // DT_*
    char name[256];
    u16 name_length;
};

// stat(2) fields, in kernel units.
struct Stat {
    u64 device;
    u64 inode;
    u32 mode;
    u32 links;
    u32 uid;
    u32 gid;
    u64 size;
    u64 blocks; // 512-byte units
    u32 block_size;
    u64 rdev;
    u64 atime;
    u64 mtime;
    u64 ctime;
};

u8 dirent_type_of_mode(u32 mode);

// setattr: which fields of SetAttr apply (Linux's ATTR_* values, linux/fs.h).
constexpr u32 ATTR_MODE = 1u << 0;
constexpr u32 ATTR_UID = 1u << 1;
constexpr u32 ATTR_GID = 1u << 2;
constexpr u32 ATTR_SIZE = 1u << 3;
constexpr u32 ATTR_ATIME = 1u << 4;
constexpr u32 ATTR_MTIME = 1u << 5;
constexpr u32 ATTR_CTIME = 1u << 6;

// chmod/chown/truncate/utimensat in one request. Times are seconds.
struct SetAttr {
    u32 valid = 0; // ATTR_*
    u32 mode = 0; // permission bits only; the file type never changes
    u32 uid = 0;
    u32 gid = 0;
    u64 size = 0;
    u64 atime = 0;
    u64 mtime = 0;
    u64 ctime = 0;
};

// What a file without its own poll reports: always ready (Linux's
// DEFAULT_POLLMASK, for regular files, block devices, directories).
constexpr u32 DEFAULT_POLL_MASK = POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM;

// An mmap(2) request handed to a file's mmap hook: the hook checks what the
// file allows and hands out the pages through `backing` (kernel/mm/VmBacking.h),
// with one reference for the caller.
struct MmapRequest {
    u64 offset = 0;
    usize length = 0;
    u32 protection = 0; // PROT_*
    u32 flags = 0; // MAP_*
    mm::VmBacking* backing = nullptr; // out
};

// lseek arithmetic shared by the file types: SEEK_SET/CUR/END against `end`,
// EINVAL for another whence or a negative result. Sets file.position.
Result<u64> generic_llseek(File& file, i64 offset, int whence, u64 end);

class Inode {
public:
    // Subclasses with file data point `mapping` at their page cache.
    Inode(SuperBlock& superblock, u64 number, u32 mode);
    virtual ~Inode() = default;
    Inode(const Inode&) = delete;
    Inode& operator=(const Inode&) = delete;

    bool is_directory() const { return (mode & S_IFMT) == S_IFDIR; }
    bool is_regular() const { return (mode & S_IFMT) == S_IFREG; }
    bool is_symlink() const { return (mode & S_IFMT) == S_IFLNK; }
    bool is_block_device() const { return (mode & S_IFMT) == S_IFBLK; }

    // Directory operations (ENOTDIR / EPERM unless overridden). Created
    // inodes are returned with the filesystem's reference.
    virtual Result<Inode*> lookup(StringView name);
    virtual Result<Inode*> create(StringView name, u32 mode);
    virtual Result<Inode*> mkdir(StringView name, u32 mode);
    virtual Result<Inode*> symlink(StringView name, StringView target);
    // A second name for `target` (not a directory) in this directory
    // (EPERM unless the filesystem has hard links).
    virtual Result<void> link(StringView name, Inode& target);
    virtual Result<void> unlink(StringView name, Inode& victim);
    virtual Result<void> rmdir(StringView name, Inode& victim);
    virtual Result<void> rename(StringView old_name, Inode& new_directory, StringView new_name);
    // One entry at or after `cursor` (an opaque position); false at the end.
    virtual Result<bool> readdir(u64& cursor, DirEntry& out);

    virtual Result<usize> readlink(char* buffer, usize capacity);
    // File data: buffer.count() bytes at `offset` to or from `buffer` (kernel
    // or user memory, an iovec array or pages), which is advanced by the
    // bytes returned. A user buffer that faults part-way gives the short
    // count, EFAULT when nothing moved. The defaults are the buffered
    // page-cache paths. `flags`: pagecache::READ_* (READ_NOWAIT: EAGAIN
    // rather than wait for I/O; files that cannot honour it return EAGAIN).
    virtual Result<usize> read(File& file, u64 offset, mm::IoIter& buffer, u32 flags = 0);
    virtual Result<usize> write(File& file, u64 offset, mm::IoIter& buffer);
    virtual Result<void> truncate(u64 size);
    virtual Result<void> fsync(bool data_only);
    // O_DIRECT transfers (through the page cache's direct I/O, which keeps
    // the cache coherent). Supported when the inode has a device-backed mapping.
    virtual Result<usize> direct_io(bool write, u64 offset, mm::IoIter& buffer);
    bool supports_direct_io() const;
    // The rest of Linux's file_operations. Called without the inode lock;
    // llseek with the file's position lock held.
    // ioctl: ENOTTY unless the file type has commands.
    virtual Result<long> ioctl(File& file, u32 request, unsigned long argument);
    // poll: the ready events (POLL*) now; DEFAULT_POLL_MASK unless overridden.
    virtual u32 poll(File& file);
    // mmap: ENODEV unless the file can be mapped.
    virtual Result<void> mmap(File& file, MmapRequest& request);
    // llseek: regular files and block devices seek against their size
    // (SEEK_DATA/SEEK_HOLE: the whole file is data);
    // directories take SEEK_SET/SEEK_CUR on their readdir cursor (EINVAL for
    // SEEK_END, as ramfs on Linux); other types override.
    virtual Result<u64> llseek(File& file, i64 offset, int whence);
    // setattr: ATTR_SIZE through truncate (regular files), then mode, owner
    // and times into the inode, then attributes_changed() so the filesystem
    // writes them back. Times change only as given (no wall clock yet).
    virtual Result<void> setattr(const SetAttr& attributes);
    virtual Result<void> attributes_changed() { return {}; }

    // The last reference to `file`, an open file of this inode, is going
    // (Linux's file_operations.release). Called without locks; may sleep.
    virtual void release(File&) { }

    // The filesystem's view of the size changed through a write.
    virtual Result<void> size_changed() { return {}; }
    // The last link went and nobody has the file open: free it on disk. The
    // filesystem may destroy the object: callers never touch it afterwards.
    virtual void evict() { }
    // The name cache is about to drop the inode's last dentry under memory
    // pressure, and nobody has it open: a filesystem that can read the inode
    // back from its disk destroys the object now and returns true (the
    // dentry then goes); false keeps both (ramfs, whose inodes are the data;
    // an inode with dirty pages).
    virtual bool drop_unused() { return false; }
    virtual void fill_stat(Stat& out);

    SuperBlock& superblock;
    u64 number;
    u32 mode;
    u32 links = 1;
    u64 size = 0;
    u64 rdev = 0;
    u32 uid = 0;
    u32 gid = 0;
    u64 atime = 0;
    u64 mtime = 0;
    u64 ctime = 0;
    pagecache::Mapping* mapping = nullptr; // its page cache (null: no file data)
    Mutex lock{ LockRank::MutexFilesystem, "inode" };
    u32 open_count = 0; // files open on it (under the namespace mutex)
    u32 dentry_count = 0; // dentries naming it (under the namespace mutex)
};

struct Mount;

struct Dentry {
    Dentry* parent = nullptr;
    char* name = nullptr; // kmalloc'd, NUL-terminated
    u16 name_length = 0;
    Inode* inode = nullptr;
    Mount* mounted = nullptr; // a filesystem mounted on this dentry
    ListNode sibling_link;
    IntrusiveList<Dentry, &Dentry::sibling_link> children;
    // Open files on this name (File::path). A removed dentry that files
    // still hold leaves the tree but stays allocated until the last of
    // them closes; it is `removed`, and path_of() refuses it.
    u32 holders = 0; // under the namespace mutex
    bool removed = false;

    StringView name_view() const { return StringView(name, name_length); }
};

// The largest offset a file can have: Linux's MAX_LFS_FILESIZE (LLONG_MAX on
// 64-bit). An offset, or an offset plus a length, beyond it is EINVAL.
constexpr u64 MAX_FILE_OFFSET = 0x7fffffffffffffffull;

// statfs(2) numbers of a filesystem (struct statfs without the fsid).
struct FsStats {
    u64 magic = 0;      // f_type: Linux's *_MAGIC of the filesystem type
    u64 block_size = 0; // f_bsize and f_frsize
    u64 blocks = 0;
    u64 free_blocks = 0;
    u64 available_blocks = 0; // free to unprivileged users
    u64 files = 0;
    u64 free_files = 0;
    u64 name_length = MAX_NAME_LENGTH;
};

struct SuperBlock {
    virtual ~SuperBlock() = default;
    // statfs: what the filesystem knows of its size; a memory filesystem
    // reports zero blocks (Linux's ramfs does the same).
    virtual void stats(FsStats& out) { out.block_size = PAGE_SIZE; }
    // Write everything dirty and make it durable.
    virtual Result<void> sync() { return {}; }
    // Last call before the superblock goes away.
    virtual Result<void> unmount() { return sync(); }

    const char* type_name = "";
    u64 device_number = 0;
    bool read_only = false; // set by the filesystem when it refuses writes (/proc/mounts "ro")
    // The largest file the filesystem can hold (Linux's s_maxbytes): a write
    // at or past it is EFBIG, one that starts below it is shortened to it.
    u64 max_file_size = MAX_FILE_OFFSET;
    // Its unused dentries may be dropped and looked up again later (a disk
    // filesystem; not ramfs, whose dentry tree is the filesystem).
    bool names_reclaimable = false;
    u32 open_files = 0; // files open on its inodes (under the namespace mutex): EBUSY to unmount
    Inode* root = nullptr;
};

struct Mount {
    SuperBlock* superblock = nullptr;
    Dentry* root = nullptr; // the superblock's root dentry
    Dentry* mountpoint = nullptr; // in the parent mount
    Mount* parent = nullptr;
    char source[32] = {};
    char path[128] = {};
};

// A position in the namespace: a dentry within a mount.
struct Path {
    Mount* mount = nullptr;
    Dentry* dentry = nullptr;
};

// An open file. Reference counted: vfs::open returns it with one reference,
// vfs::file_get adds one (a dup'd descriptor, a kernel holder), vfs::close
// drops one and frees it at zero. Descriptors sharing it share its position.
struct File {
    Path path;
    Inode* inode = nullptr;
    u32 flags = 0;
    u64 position = 0;
    u64 dir_cursor = 0;
    pagecache::ReadaheadState readahead;
    Mutex position_lock{ LockRank::MutexFilesystem, "file position" }; // outside the inode lock
    Atomic<u32> ref_count{ 1 }; // descriptors and kernel holders, from any CPU
};

// Take another reference to an open file.
inline File* file_get(File& file)
{
    // Relaxed: the caller already holds a reference, so the file cannot go away.
    file.ref_count.fetch_add(1, MemoryOrder::Relaxed);
    return &file;
}

// --- the namespace ---------------------------------------------------------

// The namespace mutex (see above).
Mutex& namespace_lock();

// A filesystem type: makes a superblock from a source ("/dev/vda", "none").
struct FileSystemType {
    const char* name;
    Result<SuperBlock*> (*mount)(StringView source, u32 flags, char* message, usize message_size);
};
void register_filesystem(const FileSystemType& type);

Path root_path();
// Mount `type` from `source` on `target` (an existing directory).
Result<void> mount(StringView source, StringView target, StringView type, u32 flags);
Result<void> unmount(StringView target);
// Write every filesystem's dirty data and make it durable.
Result<void> sync_all();
// Sync and unmount everything, leaf mounts first (power-off).
void shutdown();
// Calls fn(const Mount&) for each mount, parents first.
void for_each_mount(void (*fn)(const Mount&, void*), void* context);

// Resolve `path` (absolute, or relative to `start` / the root) through
// dentries and mounts, following symlinks as flags say (vfs::WALK_*).
Result<Path> resolve(StringView path, u32 walk_flags, const Path* start = nullptr);

// A lookup that also reports a missing last component (for creation): its
// parent and name. Through a dangling symlink (with WALK_FOLLOW) that is the
// link target's parent and name, as Linux's open(O_CREAT) does.
struct Lookup {
    Path parent;
    Path node; // valid when `exists`
    bool exists = false;
    bool trailing_slash = false;
    LastKind last_kind = LastKind::Normal;
    u16 name_length = 0;
    char name[MAX_NAME_LENGTH + 1] = {};
};
Result<void> lookup_path(StringView path, u32 walk_flags, Lookup& out, const Path* start = nullptr);

// Drop up to `max_names` cached names nobody uses (no open file, no mount
// on them, no cached children) on filesystems whose names can be looked up
// again, and the inodes left unnamed with them; returns how many names went.
// The page cache's reclaim runs it under memory pressure (a shrinker).
u64 shrink_name_cache(u64 max_names);
// Boot: hand shrink_name_cache (never waiting for the namespace mutex) to reclaim.
void register_name_cache_shrinker();

// Create a child dentry for an inode a filesystem just made.
Result<Dentry*> add_dentry(Dentry& parent, StringView name, Inode* inode);
void remove_dentry(Dentry& dentry);
// An open file's hold on its dentry (under the namespace mutex).
void hold_dentry(Dentry& dentry);
void release_dentry(Dentry& dentry);

// The absolute path of `path` ("/mnt/dir"), crossing mounts upward, into
// `out` with its NUL; returns its length. ENOENT for a removed name,
// ENAMETOOLONG when it does not fit. Takes the namespace mutex.
Result<usize> path_of(const Path& path, char* out, usize capacity);

// The inode of a block device (devfs), over the device's page cache.
Result<Inode*> block_device_inode(block::BlockDevice& device);

// Boot: mount ramfs at /, unpack the initramfs, mount devfs and procfs, and
// ext2 from the command line (root2=/dev/vda [root2.at=/mnt] [root2.ro]).
void init();

} // namespace vfs
