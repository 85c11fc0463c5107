// ktest suite "vfs_api": the descriptor table, the file operations beyond
// read/write (ioctl, poll, mmap, llseek per file type, setattr) and open's
// Linux errno rules, on the root ramfs and /dev. Needs no disk.
#include "fs/vfs/FdTable.h"
#include "fs/vfs/FileApi.h"
#include "arch/x86_64/boot/BootInfo.h"
#include "kernel/log/Log.h"
#include "kernel/lib/String.h"
#include "kernel/mm/Heap.h"
#include "tests/ktest/Ktest.h"

namespace {

int error_of(const Result<void>& result) { return result.is_error() ? result.error().code() : 0; }

template <typename T> int error_of(const Result<T>& result)
{
    return result.is_error() ? result.error().code() : 0;
}

} // namespace

KTEST(vfs_api, fd_lowest_free_and_ebadf)
{
    auto* table = new vfs::FdTable;
    KASSERT(table != nullptr);
    auto a = table->open("/vfs-api-fd", O_RDWR | O_CREAT | O_TRUNC, 0600);
    auto b = table->open("/vfs-api-fd", O_RDONLY);
    auto c = table->open("/vfs-api-fd", O_RDONLY);
    KASSERT(!a.is_error() && !b.is_error() && !c.is_error());
    KEXPECT_EQ(a.value(), 0);
    KEXPECT_EQ(b.value(), 1);
    KEXPECT_EQ(c.value(), 2);
    KEXPECT(!table->close(1).is_error());
    KEXPECT_EQ(error_of(table->close(1)), EBADF); // already closed
    KEXPECT_EQ(error_of(table->get(1)), EBADF);
    KEXPECT_EQ(error_of(table->get(-1)), EBADF);
    KEXPECT_EQ(error_of(table->get(vfs::FdTable::MAX_FDS)), EBADF);
    KEXPECT_EQ(error_of(table->close(-5)), EBADF);
    KEXPECT_EQ(error_of(table->dup(77)), EBADF);
    KEXPECT_EQ(error_of(table->fd_flags(1)), EBADF);
    auto again = table->open("/vfs-api-fd", O_RDONLY);
    KEXPECT_EQ(again.value(), 1); // the lowest free number
    KEXPECT_EQ(error_of(table->open("/vfs-api-missing", O_RDONLY)), ENOENT);
    KEXPECT_EQ(table->open_count(), 3u);
    delete table; // closes everything
    KEXPECT(!vfs::unlink("/vfs-api-fd").is_error());
}

KTEST(vfs_api, fd_emfile)
{
    auto* table = new vfs::FdTable;
    KASSERT(table != nullptr);
    auto first = table->open("/vfs-api-many", O_RDWR | O_CREAT, 0600);
    KASSERT(!first.is_error());
    for (int i = 1; i < vfs::FdTable::MAX_FDS; i++)
        KASSERT(table->dup(first.value()).value() == i);
    KEXPECT_EQ(error_of(table->dup(0)), EMFILE);
    KEXPECT_EQ(error_of(table->open("/vfs-api-many", O_RDONLY)), EMFILE);
    KEXPECT(!table->close(100).is_error());
    KEXPECT_EQ(table->dup(0).value(), 100);
    table->close_all();
    KEXPECT_EQ(table->open_count(), 0u);
    delete table;
    KEXPECT(!vfs::unlink("/vfs-api-many").is_error());
}

KTEST(vfs_api, dup_shares_position_and_refcounts_file)
{
    auto* table = new vfs::FdTable;
    KASSERT(table != nullptr);
    const int fd = table->open("/vfs-api-dup", O_RDWR | O_CREAT | O_TRUNC, 0600).value();
    const int copy = table->dup(fd).value();
    KEXPECT_EQ(copy, fd + 1);
    vfs::File* file = table->get(fd).value();
    vfs::File* same = table->get(copy).value();
    KEXPECT(file == same); // one File, one position
    KEXPECT_EQ(file->ref_count.load(MemoryOrder::Relaxed), 4u); // two descriptors + two gets
    KEXPECT_EQ(vfs::write(*file, "abcdef", 6).value(), 6u);
    KEXPECT_EQ(same->position, 6u);
    KEXPECT_EQ(vfs::lseek(*same, 2, SEEK_SET).value(), 2u);
    char c = 0;
    KEXPECT_EQ(vfs::read(*file, &c, 1).value(), 1u);
    KEXPECT_EQ(c, 'c');
    (void)vfs::close(file);
    (void)vfs::close(same);

    // Closing one descriptor leaves the File open for the other.
    KEXPECT(!table->close(fd).is_error());
    vfs::File* left = table->get(copy).value();
    KEXPECT_EQ(left->ref_count.load(MemoryOrder::Relaxed), 2u);
    KEXPECT_EQ(left->position, 3u);
    (void)vfs::close(left);

    // dup2 onto an open descriptor replaces it; onto itself is a no-op.
    const int other = table->open("/vfs-api-dup", O_RDONLY).value();
    KEXPECT_EQ(other, fd);
    KEXPECT_EQ(table->dup2(copy, other).value(), other);
    vfs::File* a = table->get(other).value();
    vfs::File* b = table->get(copy).value();
    KEXPECT(a == b);
    (void)vfs::close(a);
    (void)vfs::close(b);
    KEXPECT_EQ(table->dup2(copy, copy).value(), copy);
    KEXPECT_EQ(error_of(table->dup2(55, 3)), EBADF);
    KEXPECT_EQ(error_of(table->dup2(copy, -1)), EBADF);
    KEXPECT_EQ(error_of(table->dup2(copy, vfs::FdTable::MAX_FDS)), EBADF);
    KEXPECT_EQ(error_of(table->dup3(copy, copy, 0)), EINVAL);
    KEXPECT_EQ(error_of(table->dup3(copy, 9, O_APPEND)), EINVAL);
    KEXPECT_EQ(table->dup3(copy, 9, O_CLOEXEC).value(), 9);
    KEXPECT_EQ(table->fd_flags(9).value(), static_cast<u32>(FD_CLOEXEC));
    delete table;
    KEXPECT(!vfs::unlink("/vfs-api-dup").is_error());
}

KTEST(vfs_api, close_on_exec)
{
    auto* table = new vfs::FdTable;
    KASSERT(table != nullptr);
    const int keep = table->open("/vfs-api-exec", O_RDWR | O_CREAT, 0600).value();
    const int drop = table->open("/vfs-api-exec", O_RDONLY | O_CLOEXEC).value();
    KEXPECT_EQ(table->fd_flags(keep).value(), 0u);
    KEXPECT_EQ(table->fd_flags(drop).value(), static_cast<u32>(FD_CLOEXEC));
    // dup clears FD_CLOEXEC (it belongs to the descriptor, not the file).
    const int dup_of_drop = table->dup(drop).value();
    KEXPECT_EQ(table->fd_flags(dup_of_drop).value(), 0u);
    const int marked = table->dup(keep).value();
    KEXPECT(!table->set_fd_flags(marked, FD_CLOEXEC).is_error());
    KEXPECT_EQ(error_of(table->set_fd_flags(200, FD_CLOEXEC)), EBADF);

    KEXPECT_EQ(table->close_on_exec(), 2u);
    KEXPECT(!table->get(keep).is_error());
    (void)vfs::close(table->get(keep).value());
    (void)vfs::close(table->get(keep).value());
    KEXPECT_EQ(error_of(table->get(drop)), EBADF);
    KEXPECT_EQ(error_of(table->get(marked)), EBADF);
    KEXPECT(!table->get(dup_of_drop).is_error());
    (void)vfs::close(table->get(dup_of_drop).value());
    KEXPECT_EQ(table->open_count(), 2u);
    delete table;
    KEXPECT(!vfs::unlink("/vfs-api-exec").is_error());
}

KTEST(vfs_api, ioctl_poll_mmap_defaults)
{
    auto file = vfs::open("/vfs-api-ops", O_RDWR | O_CREAT | O_TRUNC, 0600);
    KASSERT(!file.is_error());
    constexpr u32 TCGETS = 0x5401; // a tty ioctl: not for a regular file
    KEXPECT_EQ(error_of(vfs::ioctl(*file.value(), TCGETS, 0)), ENOTTY);
    KEXPECT_EQ(vfs::poll(*file.value(), POLLIN | POLLOUT), static_cast<u32>(POLLIN | POLLOUT));
    KEXPECT_EQ(vfs::poll(*file.value(), POLLIN), static_cast<u32>(POLLIN));
    KEXPECT_EQ(vfs::poll(*file.value(), POLLPRI), 0u);
    vfs::MmapRequest request;
    request.length = 4096;
    // A regular file maps its page cache (vfs::MappedFile); /dev/null cannot be mapped.
    KEXPECT_EQ(error_of(vfs::mmap(*file.value(), request)), 0);
    KEXPECT(request.backing != nullptr);
    if (request.backing)
        request.backing->unref();
    request.backing = nullptr;
    request.length = 0;
    KEXPECT_EQ(error_of(vfs::mmap(*file.value(), request)), EINVAL);
    KEXPECT(!vfs::close(file.value()).is_error());

    auto null = vfs::open("/dev/null", O_RDWR);
    KASSERT(!null.is_error());
    KEXPECT_EQ(error_of(vfs::ioctl(*null.value(), TCGETS, 0)), ENOTTY);
    KEXPECT_EQ(vfs::poll(*null.value(), POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM), vfs::DEFAULT_POLL_MASK);
    request.length = 4096;
    KEXPECT_EQ(error_of(vfs::mmap(*null.value(), request)), ENODEV);
    KEXPECT(!vfs::close(null.value()).is_error());

    auto directory = vfs::open("/", O_RDONLY | O_DIRECTORY);
    KASSERT(!directory.is_error());
    KEXPECT_EQ(vfs::poll(*directory.value(), POLLIN), static_cast<u32>(POLLIN));
    KEXPECT(!vfs::close(directory.value()).is_error());
    KEXPECT(!vfs::unlink("/vfs-api-ops").is_error());
}

KTEST(vfs_api, llseek_per_file_type)
{
    auto file = vfs::open("/vfs-api-seek", O_RDWR | O_CREAT | O_TRUNC, 0600);
    KASSERT(!file.is_error());
    vfs::File& f = *file.value();
    KEXPECT_EQ(vfs::write(f, "0123456789", 10).value(), 10u);
    KEXPECT_EQ(vfs::lseek(f, -1, SEEK_END).value(), 9u);
    KEXPECT_EQ(vfs::lseek(f, -2, SEEK_CUR).value(), 7u);
    KEXPECT_EQ(vfs::lseek(f, 100, SEEK_END).value(), 110u); // past the end is fine
    KEXPECT_EQ(error_of(vfs::lseek(f, -1, SEEK_SET)), EINVAL);
    KEXPECT_EQ(error_of(vfs::lseek(f, -11, SEEK_END)), EINVAL);
    KEXPECT_EQ(error_of(vfs::lseek(f, 0, 7)), EINVAL);
    KEXPECT_EQ(f.position, 110u); // a failed seek leaves the position alone
    KEXPECT(!vfs::close(&f).is_error());
    KEXPECT(!vfs::unlink("/vfs-api-seek").is_error());

    // /dev/null and /dev/zero: every seek succeeds and returns 0.
    static const char* const DEVICES[] = { "/dev/null", "/dev/zero" };
    for (const char* path : DEVICES) {
        auto device = vfs::open(StringView(path), O_RDWR);
        KASSERT(!device.is_error());
        KEXPECT_EQ(vfs::lseek(*device.value(), 100, SEEK_SET).value(), 0u);
        KEXPECT_EQ(vfs::lseek(*device.value(), -5, SEEK_END).value(), 0u);
        KEXPECT_EQ(vfs::lseek(*device.value(), 3, SEEK_CUR).value(), 0u);
        KEXPECT(!vfs::close(device.value()).is_error());
    }
    auto console = vfs::open("/dev/console", O_WRONLY);
    KASSERT(!console.is_error());
    KEXPECT_EQ(error_of(vfs::lseek(*console.value(), 0, SEEK_SET)), ESPIPE);
    KEXPECT(!vfs::close(console.value()).is_error());
}

// Offsets that wrap, as Linux's rw_verify_area: an offset past LLONG_MAX (a
// negative loff_t) or one whose end passes it is EINVAL for reads and
// writes alike, before anything is touched; an empty transfer at LLONG_MAX is
// 0; ftruncate to a negative length is EINVAL.
KTEST(vfs_api, offsets_that_wrap_are_einval)
{
    auto file = vfs::open("/vfs-api-wrap", O_RDWR | O_CREAT | O_TRUNC, 0600);
    KASSERT(!file.is_error());
    vfs::File& f = *file.value();
    char data[100] = "wrap";
    constexpr u64 LLONG_MAX_OFFSET = 0x7fffffffffffffffull;
    KEXPECT_EQ(error_of(vfs::pwrite(f, data, 10, ~0ull)), EINVAL); // -1
    KEXPECT_EQ(error_of(vfs::pwrite(f, data, 100, ~0ull - 10)), EINVAL); // wraps past 2^64
    KEXPECT_EQ(error_of(vfs::pwrite(f, data, 10, LLONG_MAX_OFFSET - 5)), EINVAL); // ends past LLONG_MAX
    KEXPECT_EQ(error_of(vfs::pwrite(f, data, 1, LLONG_MAX_OFFSET)), EINVAL);
    KEXPECT_EQ(error_of(vfs::pread(f, data, 100, ~0ull - 10)), EINVAL);
    KEXPECT_EQ(error_of(vfs::pread(f, data, 10, LLONG_MAX_OFFSET - 5)), EINVAL);
    KEXPECT_EQ(vfs::pwrite(f, data, 0, LLONG_MAX_OFFSET).value(), 0u);
    KEXPECT_EQ(vfs::pread(f, data, 0, LLONG_MAX_OFFSET).value(), 0u);
    // Through the file position: write() at LLONG_MAX is EINVAL too.
    KEXPECT_EQ(vfs::lseek(f, static_cast<i64>(LLONG_MAX_OFFSET), SEEK_SET).value(), LLONG_MAX_OFFSET);
    KEXPECT_EQ(error_of(vfs::write(f, data, 1)), EINVAL);
    KEXPECT_EQ(f.position, LLONG_MAX_OFFSET);
    KEXPECT_EQ(error_of(vfs::ftruncate(f, ~0ull)), EINVAL);
    KEXPECT_EQ(error_of(vfs::ftruncate(f, LLONG_MAX_OFFSET + 1)), EINVAL);
    // Nothing was written anywhere.
    vfs::Stat st;
    KEXPECT(!vfs::fstat(f, st).is_error());
    KEXPECT_EQ(st.size, 0u);
    KEXPECT(!vfs::close(&f).is_error());
    KEXPECT(!vfs::unlink("/vfs-api-wrap").is_error());
}

KTEST(vfs_api, directory_seek_is_telldir_seekdir)
{
    KEXPECT(!vfs::mkdir("/vfs-api-dir").is_error());
    static const char* const NAMES[] = { "/vfs-api-dir/a", "/vfs-api-dir/b", "/vfs-api-dir/c" };
    for (const char* name : NAMES)
        (void)vfs::close(vfs::open(StringView(name), O_WRONLY | O_CREAT).value());
    auto directory = vfs::open("/vfs-api-dir", O_RDONLY | O_DIRECTORY);
    KASSERT(!directory.is_error());
    vfs::File& d = *directory.value();
    vfs::DirEntry entry;
    KEXPECT(vfs::readdir(d, entry).value()); // "."
    KEXPECT(vfs::readdir(d, entry).value()); // ".."
    const u64 mark = vfs::lseek(d, 0, SEEK_CUR).value(); // telldir
    KEXPECT(vfs::readdir(d, entry).value());
    char first[256];
    memcpy(first, entry.name, entry.name_length + 1);
    KEXPECT(vfs::readdir(d, entry).value());
    KEXPECT_EQ(vfs::lseek(d, static_cast<i64>(mark), SEEK_SET).value(), mark); // seekdir
    KEXPECT(vfs::readdir(d, entry).value());
    KEXPECT(strcmp(entry.name, first) == 0);
    KEXPECT_EQ(error_of(vfs::lseek(d, 0, SEEK_END)), EINVAL); // ramfs, as Linux's
    KEXPECT_EQ(error_of(vfs::lseek(d, -100, SEEK_CUR)), EINVAL);
    KEXPECT_EQ(vfs::lseek(d, 0, SEEK_SET).value(), 0u); // rewinddir
    KEXPECT(vfs::readdir(d, entry).value());
    KEXPECT(strcmp(entry.name, ".") == 0);
    KEXPECT(!vfs::close(&d).is_error());
    for (const char* name : NAMES)
        KEXPECT(!vfs::unlink(StringView(name)).is_error());
    KEXPECT(!vfs::rmdir("/vfs-api-dir").is_error());
}

KTEST(vfs_api, setattr_mode_owner_times_size)
{
    auto file = vfs::open("/vfs-api-attr", O_RDWR | O_CREAT | O_TRUNC, 0600);
    KASSERT(!file.is_error());
    KEXPECT_EQ(vfs::write(*file.value(), "abcdef", 6).value(), 6u);
    KEXPECT(!vfs::chmod("/vfs-api-attr", 0100755).is_error()); // type bits are ignored
    KEXPECT(!vfs::chown("/vfs-api-attr", 1000, 70000).is_error());
    KEXPECT(!vfs::utimes("/vfs-api-attr", 1111, 2222).is_error());
    vfs::SetAttr attributes;
    attributes.valid = vfs::ATTR_SIZE | vfs::ATTR_CTIME;
    attributes.size = 2;
    attributes.ctime = 3333;
    KEXPECT(!vfs::fsetattr(*file.value(), attributes).is_error());
    vfs::Stat st;
    KEXPECT(!vfs::stat("/vfs-api-attr", st).is_error());
    KEXPECT_EQ(st.mode, static_cast<u32>(S_IFREG | 0755));
    KEXPECT_EQ(st.uid, 1000u);
    KEXPECT_EQ(st.gid, 70000u);
    KEXPECT_EQ(st.atime, 1111u);
    KEXPECT_EQ(st.mtime, 2222u);
    KEXPECT_EQ(st.ctime, 3333u);
    KEXPECT_EQ(st.size, 2u);
    KEXPECT(!vfs::close(file.value()).is_error());

    auto read_only = vfs::open("/vfs-api-attr", O_RDONLY);
    KASSERT(!read_only.is_error());
    KEXPECT_EQ(error_of(vfs::ftruncate(*read_only.value(), 0)), EINVAL);
    attributes.valid = vfs::ATTR_SIZE;
    KEXPECT_EQ(error_of(vfs::fsetattr(*read_only.value(), attributes)), EINVAL);
    KEXPECT(!vfs::close(read_only.value()).is_error());
    KEXPECT_EQ(error_of(vfs::setattr("/", attributes)), EISDIR);
    KEXPECT_EQ(error_of(vfs::chmod("/vfs-api-missing", 0644)), ENOENT);
    KEXPECT(!vfs::stat("/", st).is_error());
    const u32 root_mode = st.mode;
    KEXPECT(!vfs::chmod("/", 01777).is_error());
    KEXPECT(!vfs::stat("/", st).is_error());
    KEXPECT_EQ(st.mode, static_cast<u32>(S_IFDIR | 01777));
    KEXPECT(!vfs::chmod("/", root_mode).is_error());
    KEXPECT(!vfs::unlink("/vfs-api-attr").is_error());
}

KTEST(vfs_api, open_errors_as_linux)
{
    KEXPECT(!vfs::mkdir("/vfs-api-isdir").is_error());
    // An existing directory with O_CREAT, or for writing: EISDIR.
    KEXPECT_EQ(error_of(vfs::open("/vfs-api-isdir", O_RDONLY | O_CREAT)), EISDIR);
    KEXPECT_EQ(error_of(vfs::open("/vfs-api-isdir", O_WRONLY | O_CREAT)), EISDIR);
    KEXPECT_EQ(error_of(vfs::open("/vfs-api-isdir", O_WRONLY)), EISDIR);
    KEXPECT_EQ(error_of(vfs::open("/vfs-api-isdir", O_RDWR)), EISDIR);
    KEXPECT_EQ(error_of(vfs::open("/vfs-api-isdir/", O_RDONLY | O_CREAT)), EISDIR);
    KEXPECT_EQ(error_of(vfs::open("/", O_RDONLY | O_CREAT)), EISDIR);
    // O_CREAT|O_EXCL on an existing directory is EEXIST first.
    KEXPECT_EQ(error_of(vfs::open("/vfs-api-isdir", O_RDONLY | O_CREAT | O_EXCL)), EEXIST);
    auto plain = vfs::open("/vfs-api-isdir", O_RDONLY);
    KEXPECT(!plain.is_error());
    if (!plain.is_error())
        (void)vfs::close(plain.value());

    // A component of 256 bytes: ENAMETOOLONG, as last or intermediate
    // component, creating or not; 255 bytes is fine.
    char* path = static_cast<char*>(kmalloc(600));
    KASSERT(path != nullptr);
    memcpy(path, "/vfs-api-isdir/", 15);
    memset(path + 15, 'n', 256);
    path[15 + 256] = 0;
    const StringView long_name(path, 15 + 256);
    KEXPECT_EQ(error_of(vfs::open(long_name, O_RDONLY)), ENAMETOOLONG);
    KEXPECT_EQ(error_of(vfs::open(long_name, O_WRONLY | O_CREAT)), ENAMETOOLONG);
    KEXPECT_EQ(error_of(vfs::open(long_name, O_WRONLY | O_CREAT | O_EXCL)), ENAMETOOLONG);
    KEXPECT_EQ(error_of(vfs::mkdir(long_name)), ENAMETOOLONG);
    vfs::Stat st;
    KEXPECT_EQ(error_of(vfs::stat(long_name, st)), ENAMETOOLONG);
    memcpy(path + 15 + 256, "/x", 3);
    const StringView long_middle(path, 15 + 256 + 2);
    KEXPECT_EQ(error_of(vfs::open(long_middle, O_WRONLY | O_CREAT)), ENAMETOOLONG);
    KEXPECT_EQ(error_of(vfs::mkdir(long_middle)), ENAMETOOLONG);
    path[15 + 255] = 0;
    const StringView longest(path, 15 + 255);
    KEXPECT(!vfs::mkdir(longest).is_error());
    auto inside = vfs::open(longest, O_RDONLY | O_DIRECTORY);
    KEXPECT(!inside.is_error());
    if (!inside.is_error())
        (void)vfs::close(inside.value());
    KEXPECT(!vfs::rmdir(longest).is_error());
    kfree(path);
    KEXPECT(!vfs::rmdir("/vfs-api-isdir").is_error());
}

// Over an ext2 mount at /mnt (root2=...), only when the command line asks:
//   vfs_api.ext2  setattr is written back to the on-disk inode (the host
//                 reads /vfs-api-attr with debugfs: mode 0640, uid 1234,
//                 gid 70000, atime 1111, mtime 2222); directory SEEK_END
//   vfs_api.ext3  an ext3 image (has_journal) is mounted read-only: EROFS
KTEST(vfs_api_ext2, setattr_written_back)
{
    if (!boot_info().command_line.has("vfs_api.ext2"))
        return;
    auto file = vfs::open("/mnt/vfs-api-attr", O_RDWR | O_CREAT | O_TRUNC, 0600);
    KASSERT(!file.is_error());
    KEXPECT_EQ(vfs::write(*file.value(), "attributes", 10).value(), 10u);
    KEXPECT(!vfs::chmod("/mnt/vfs-api-attr", 0640).is_error());
    KEXPECT(!vfs::chown("/mnt/vfs-api-attr", 1234, 70000).is_error());
    KEXPECT(!vfs::utimes("/mnt/vfs-api-attr", 1111, 2222).is_error());
    KEXPECT(!vfs::fsync(*file.value()).is_error());
    KEXPECT(!vfs::close(file.value()).is_error());
    vfs::Stat st;
    KEXPECT(!vfs::stat("/mnt/vfs-api-attr", st).is_error());
    KEXPECT_EQ(st.mode, static_cast<u32>(S_IFREG | 0640));
    KEXPECT_EQ(st.uid, 1234u);
    KEXPECT_EQ(st.gid, 70000u);
    KEXPECT_EQ(st.mtime, 2222u);

    // ext2 directories seek as Linux's generic_file_llseek: SEEK_END is the size.
    KEXPECT(!vfs::stat("/mnt", st).is_error());
    auto directory = vfs::open("/mnt", O_RDONLY | O_DIRECTORY);
    KASSERT(!directory.is_error());
    KEXPECT_EQ(vfs::lseek(*directory.value(), 0, SEEK_END).value(), st.size);
    KEXPECT(!vfs::close(directory.value()).is_error());
    KEXPECT(!vfs::sync_all().is_error());
    log_info("vfs_api", "ext2 attributes written");
}

KTEST(vfs_api_ext2, ext3_is_read_only)
{
    if (!boot_info().command_line.has("vfs_api.ext3"))
        return;
    KEXPECT_EQ(error_of(vfs::open("/mnt/new", O_WRONLY | O_CREAT)), EROFS);
    KEXPECT_EQ(error_of(vfs::mkdir("/mnt/newdir")), EROFS);
    KEXPECT_EQ(error_of(vfs::chmod("/mnt", 0700)), EROFS);
    vfs::Stat st;
    KEXPECT(!vfs::stat("/mnt", st).is_error()); // reading works
}

// With any root2= device: the block device file seeks against its capacity
// and polls ready, as Linux.
KTEST(vfs_api_ext2, block_device_llseek_and_poll)
{
    if (!boot_info().command_line.has("vfs_api.ext2") && !boot_info().command_line.has("vfs_api.ext3"))
        return;
    const StringView device = boot_info().command_line.get("root2");
    auto file = vfs::open(device, O_RDONLY);
    KASSERT(!file.is_error());
    vfs::Stat st;
    KEXPECT(!vfs::fstat(*file.value(), st).is_error());
    KEXPECT_EQ(st.mode & S_IFMT, static_cast<u32>(S_IFBLK));
    KEXPECT(st.size > 0);
    KEXPECT_EQ(vfs::lseek(*file.value(), 0, SEEK_END).value(), st.size);
    KEXPECT_EQ(vfs::lseek(*file.value(), -512, SEEK_END).value(), st.size - 512);
    KEXPECT_EQ(error_of(vfs::lseek(*file.value(), -static_cast<i64>(st.size) - 1, SEEK_END)), EINVAL);
    KEXPECT_EQ(vfs::poll(*file.value(), POLLIN | POLLOUT), static_cast<u32>(POLLIN | POLLOUT));
    KEXPECT_EQ(error_of(vfs::ioctl(*file.value(), 0x5401, 0)), ENOTTY);
    KEXPECT(!vfs::close(file.value()).is_error());
}
