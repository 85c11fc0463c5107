// ktest suite "vfs": the in-kernel file API on the root ramfs, /dev and
// /proc. Needs no disk.
#include "fs/vfs/FileApi.h"
#include "kernel/lib/String.h"
#include "kernel/log/Log.h"
#include "kernel/mm/Heap.h"
#include "tests/ktest/Ktest.h"

namespace {

int error_of(const Result<void>& result) { return result.is_error() ? result.error().code() : 0; }

template <typename T> int error_of(const Result<T>& result)
{
    return result.is_error() ? result.error().code() : 0;
}

} // namespace

KTEST(vfs, create_write_read_stat)
{
    auto file = vfs::open("/vfs-a", O_RDWR | O_CREAT | O_EXCL, 0600);
    KASSERT(!file.is_error());
    const char text[] = "hello, page cache";
    KEXPECT_EQ(vfs::write(*file.value(), text, sizeof(text)).value(), sizeof(text));
    KEXPECT_EQ(vfs::lseek(*file.value(), 0, SEEK_SET).value(), 0u);
    char back[64] = {};
    KEXPECT_EQ(vfs::read(*file.value(), back, sizeof(back)).value(), sizeof(text));
    KEXPECT(memcmp(back, text, sizeof(text)) == 0);
    KEXPECT_EQ(vfs::read(*file.value(), back, sizeof(back)).value(), 0u); // at EOF
    vfs::Stat st;
    KEXPECT(!vfs::fstat(*file.value(), st).is_error());
    KEXPECT_EQ(st.size, sizeof(text));
    KEXPECT_EQ(st.mode & S_IFMT, static_cast<u32>(S_IFREG));
    KEXPECT(!vfs::close(file.value()).is_error());
    KEXPECT_EQ(error_of(vfs::open("/vfs-a", O_RDWR | O_CREAT | O_EXCL)), EEXIST);
    KEXPECT(!vfs::unlink("/vfs-a").is_error());
    KEXPECT_EQ(error_of(vfs::open("/vfs-a", O_RDONLY)), ENOENT);
}

KTEST(vfs, open_flags_as_linux)
{
    KEXPECT(!vfs::mkdir("/vfs-d").is_error());
    KEXPECT_EQ(error_of(vfs::mkdir("/vfs-d")), EEXIST);
    KEXPECT_EQ(error_of(vfs::open("/vfs-d", O_WRONLY)), EISDIR);
    KEXPECT_EQ(error_of(vfs::open("/vfs-d/missing/x", O_RDONLY)), ENOENT);
    KEXPECT_EQ(error_of(vfs::open("/vfs-d/missing/new", O_WRONLY | O_CREAT)), ENOENT); // parent missing
    KEXPECT_EQ(error_of(vfs::open("/vfs-d/newfile/", O_WRONLY | O_CREAT)), EISDIR);

    auto file = vfs::open("/vfs-d/f", O_WRONLY | O_CREAT | O_TRUNC);
    KASSERT(!file.is_error());
    KEXPECT_EQ(vfs::write(*file.value(), "0123456789", 10).value(), 10u);
    KEXPECT(!vfs::close(file.value()).is_error());
    KEXPECT_EQ(error_of(vfs::open("/vfs-d/f/x", O_RDONLY)), ENOTDIR);
    KEXPECT_EQ(error_of(vfs::open("/vfs-d/f", O_RDONLY | O_DIRECTORY)), ENOTDIR);
    KEXPECT_EQ(error_of(vfs::rmdir("/vfs-d/f")), ENOTDIR);
    KEXPECT_EQ(error_of(vfs::rmdir("/vfs-d")), ENOTEMPTY);
    KEXPECT_EQ(error_of(vfs::unlink("/vfs-d")), EISDIR);

    // O_APPEND writes at the end whatever the position.
    auto appending = vfs::open("/vfs-d/f", O_WRONLY | O_APPEND);
    KASSERT(!appending.is_error());
    KEXPECT(!vfs::lseek(*appending.value(), 0, SEEK_SET).is_error());
    KEXPECT_EQ(vfs::write(*appending.value(), "AB", 2).value(), 2u);
    KEXPECT(!vfs::close(appending.value()).is_error());
    vfs::Stat st;
    KEXPECT(!vfs::stat("/vfs-d/f", st).is_error());
    KEXPECT_EQ(st.size, 12u);
    // O_TRUNC empties it.
    auto truncating = vfs::open("/vfs-d/f", O_RDWR | O_TRUNC);
    KASSERT(!truncating.is_error());
    KEXPECT(!vfs::fstat(*truncating.value(), st).is_error());
    KEXPECT_EQ(st.size, 0u);
    KEXPECT(!vfs::close(truncating.value()).is_error());
    // A read-only file cannot be written.
    auto reading = vfs::open("/vfs-d/f", O_RDONLY);
    KASSERT(!reading.is_error());
    KEXPECT_EQ(error_of(vfs::write(*reading.value(), "x", 1)), EBADF);
    KEXPECT(!vfs::close(reading.value()).is_error());

    KEXPECT(!vfs::unlink("/vfs-d/f").is_error());
    KEXPECT(!vfs::rmdir("/vfs-d").is_error());
}

KTEST(vfs, symlinks_rename_getdents)
{
    KEXPECT(!vfs::mkdir("/vfs-s").is_error());
    auto file = vfs::open("/vfs-s/target", O_WRONLY | O_CREAT);
    KASSERT(!file.is_error());
    KEXPECT(!vfs::close(file.value()).is_error());
    KEXPECT(!vfs::symlink("target", "/vfs-s/link").is_error());
    KEXPECT(!vfs::symlink("loop", "/vfs-s/loop").is_error());
    char buffer[64];
    KEXPECT_EQ(vfs::readlink("/vfs-s/link", buffer, sizeof(buffer)).value(), 6u);
    vfs::Stat st;
    KEXPECT(!vfs::stat("/vfs-s/link", st).is_error());
    KEXPECT_EQ(st.mode & S_IFMT, static_cast<u32>(S_IFREG));
    KEXPECT(!vfs::lstat("/vfs-s/link", st).is_error());
    KEXPECT_EQ(st.mode & S_IFMT, static_cast<u32>(S_IFLNK));
    KEXPECT_EQ(error_of(vfs::open("/vfs-s/loop", O_RDONLY)), ELOOP);
    KEXPECT_EQ(error_of(vfs::open("/vfs-s/link", O_RDONLY | O_NOFOLLOW)), ELOOP);

    KEXPECT(!vfs::rename("/vfs-s/target", "/vfs-s/renamed").is_error());
    KEXPECT_EQ(error_of(vfs::stat("/vfs-s/link", st)), ENOENT); // dangling now

    auto dir = vfs::open("/vfs-s", O_RDONLY | O_DIRECTORY);
    KASSERT(!dir.is_error());
    u8 dents[512];
    const usize n = vfs::getdents(*dir.value(), dents, sizeof(dents)).value();
    u32 names = 0;
    bool saw_renamed = false;
    for (usize at = 0; at < n;) {
        auto* d = reinterpret_cast<vfs::LinuxDirent64*>(dents + at);
        names++;
        if (strcmp(d->d_name, "renamed") == 0)
            saw_renamed = d->d_type == DT_REG;
        at += d->d_reclen;
    }
    KEXPECT_EQ(names, 5u); // . .. link loop renamed
    KEXPECT(saw_renamed);
    KEXPECT_EQ(vfs::getdents(*dir.value(), dents, sizeof(dents)).value(), 0u);
    KEXPECT(!vfs::close(dir.value()).is_error());
    static const char* const PATHS[] = { "/vfs-s/link", "/vfs-s/loop", "/vfs-s/renamed" };
    for (const char* path : PATHS)
        KEXPECT(!vfs::unlink(StringView(path)).is_error());
    KEXPECT(!vfs::rmdir("/vfs-s").is_error());
}

KTEST(vfs, large_file_in_page_cache)
{
    auto file = vfs::open("/vfs-big", O_RDWR | O_CREAT);
    KASSERT(!file.is_error());
    constexpr usize SIZE = 3 * MiB + 123;
    auto* data = static_cast<u8*>(kmalloc(64 * KiB));
    KASSERT(data);
    for (usize done = 0; done < SIZE;) {
        const usize chunk = min<usize>(64 * KiB - 7, SIZE - done);
        for (usize i = 0; i < chunk; i++)
            data[i] = static_cast<u8>((done + i) * 131 + 7);
        KASSERT(vfs::write(*file.value(), data, chunk).value() == chunk);
        done += chunk;
    }
    bool same = true;
    for (usize done = 0; done < SIZE && same;) {
        const usize chunk = min<usize>(5000, SIZE - done);
        KASSERT(vfs::pread(*file.value(), data, chunk, done).value() == chunk);
        for (usize i = 0; i < chunk; i++)
            same &= data[i] == static_cast<u8>((done + i) * 131 + 7);
        done += chunk;
    }
    KEXPECT(same);
    KEXPECT(!vfs::ftruncate(*file.value(), 100).is_error());
    KEXPECT_EQ(vfs::pread(*file.value(), data, 1000, 0).value(), 100u);
    kfree(data);
    KEXPECT(!vfs::close(file.value()).is_error());
    KEXPECT(!vfs::unlink("/vfs-big").is_error());
}

KTEST(vfs, dev_and_proc)
{
    auto zero = vfs::open("/dev/zero", O_RDONLY);
    KASSERT(!zero.is_error());
    char buffer[256];
    memset(buffer, 1, sizeof(buffer));
    KEXPECT_EQ(vfs::read(*zero.value(), buffer, sizeof(buffer)).value(), sizeof(buffer));
    KEXPECT(buffer[0] == 0 && buffer[255] == 0);
    KEXPECT(!vfs::close(zero.value()).is_error());
    auto null = vfs::open("/dev/null", O_RDWR);
    KASSERT(!null.is_error());
    KEXPECT_EQ(vfs::write(*null.value(), buffer, 10).value(), 10u);
    KEXPECT_EQ(vfs::read(*null.value(), buffer, 10).value(), 0u);
    KEXPECT(!vfs::close(null.value()).is_error());

    auto mounts = vfs::open("/proc/mounts", O_RDONLY);
    KASSERT(!mounts.is_error());
    const usize n = vfs::read(*mounts.value(), buffer, sizeof(buffer) - 1).value();
    buffer[n] = 0;
    KEXPECT(n > 0 && StringView(buffer).starts_with("none / ramfs rw 0 0"));
    KEXPECT(!vfs::close(mounts.value()).is_error());
    auto interrupts = vfs::open("/proc/interrupts", O_RDONLY);
    KASSERT(!interrupts.is_error());
    const usize m = vfs::read(*interrupts.value(), buffer, sizeof(buffer) - 1).value();
    buffer[m] = 0;
    KEXPECT(m > 0 && StringView(buffer).substring(0, 16).find('C') >= 0); // the CPU header
    KEXPECT(!vfs::close(interrupts.value()).is_error());
    auto meminfo = vfs::open("/proc/meminfo", O_RDONLY);
    KASSERT(!meminfo.is_error());
    KEXPECT(vfs::read(*meminfo.value(), buffer, sizeof(buffer) - 1).value() > 0);
    KEXPECT(StringView(buffer).starts_with("MemTotal:"));
    KEXPECT(!vfs::close(meminfo.value()).is_error());
}

KTEST(vfs, create_through_a_dangling_symlink)
{
    KEXPECT(!vfs::mkdir("/vfs-c").is_error());
    KEXPECT(!vfs::symlink("made-by-open", "/vfs-c/dangling").is_error());
    // O_CREAT|O_EXCL does not follow the final link: it exists.
    KEXPECT_EQ(error_of(vfs::open("/vfs-c/dangling", O_WRONLY | O_CREAT | O_EXCL)), EEXIST);
    // Plain O_CREAT follows it and creates the target, as Linux does.
    auto file = vfs::open("/vfs-c/dangling", O_WRONLY | O_CREAT);
    KASSERT(!file.is_error());
    KEXPECT(!vfs::close(file.value()).is_error());
    vfs::Stat st;
    KEXPECT(!vfs::stat("/vfs-c/made-by-open", st).is_error());
    KEXPECT(!vfs::stat("/vfs-c/dangling", st).is_error()); // no longer dangling
    KEXPECT(!vfs::unlink("/vfs-c/dangling").is_error());
    KEXPECT(!vfs::unlink("/vfs-c/made-by-open").is_error());
    KEXPECT(!vfs::rmdir("/vfs-c").is_error());
}

// Print the /proc files (for the log: their format is what tools parse).
KTEST(vfs, proc_files_print)
{
    static const char* const FILES[]
        = { "/proc/mounts", "/proc/meminfo", "/proc/diskstats", "/proc/interrupts" };
    auto* buffer = static_cast<char*>(kmalloc(16 * KiB));
    KASSERT(buffer);
    for (const char* path : FILES) {
        auto file = vfs::open(StringView(path), O_RDONLY);
        KASSERT(!file.is_error());
        auto n = vfs::read(*file.value(), buffer, 16 * KiB - 1);
        KEXPECT(!n.is_error());
        log_raw("--- %s\n%.*s", path, static_cast<int>(n.is_error() ? 0 : n.value()), buffer);
        (void)vfs::close(file.value());
    }
    kfree(buffer);
}
