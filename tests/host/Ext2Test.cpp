// fs/ext2 against the host's own e2fsprogs: images are made at test time with
// mkfs.ext2 -d from a directory of files with known random content (no binary
// fixtures), read through Sluice's ext2 code and compared; and images written
// through Sluice's code are checked with e2fsck -fn and read back with debugfs.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "fs/ext2/FileSystem.h"

namespace {

// A volume image held in memory; blocks are pointers into it.
class MemoryBlockCache final : public ext2::BlockCache {
public:
    explicit MemoryBlockCache(std::vector<u8> image)
        : m_image(std::move(image))
    {
    }
    ~MemoryBlockCache() { EXPECT_EQ(m_pinned, 0) << "block refs leaked"; }

    u32 block_size() const override { return m_block_size; }
    Result<void> set_block_size(u32 size) override
    {
        m_block_size = size;
        return {};
    }
    u64 device_size_bytes() const override { return m_image.size(); }
    Result<ext2::BlockRef> read(u64 block) override
    {
        if ((block + 1) * m_block_size > m_image.size())
            return Error::from_errno(EIO);
        m_pinned++;
        reads++;
        return ext2::BlockRef(this, block, m_image.data() + block * m_block_size, nullptr);
    }
    Result<ext2::BlockRef> zeroed(u64 block) override
    {
        auto ref = TRY(read(block));
        memset(ref.data(), 0, m_block_size);
        return ref;
    }
    Result<void> sync() override
    {
        syncs++;
        return {};
    }
    void mark_dirty(ext2::BlockRef&) override { dirtied++; }
    void release(ext2::BlockRef&) override { m_pinned--; }

    std::vector<u8>& image() { return m_image; }
    int pinned() const { return m_pinned; }

    u64 reads = 0;
    u64 dirtied = 0;
    u64 syncs = 0;

private:
    std::vector<u8> m_image;
    u32 m_block_size = 1024;
    int m_pinned = 0;
};

u32 fixed_clock() { return 1700000000; }

std::string run(const std::string& command, int* status = nullptr)
{
    std::string output;
    FILE* pipe = popen((command + " 2>&1").c_str(), "r");
    if (!pipe)
        return output;
    char buffer[4096];
    size_t n;
    while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0)
        output.append(buffer, n);
    int rc = pclose(pipe);
    if (status)
        *status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
    return output;
}

// The number on the last line of a tool's output (debugfs prints its banner first).
u64 last_line_number(const std::string& output)
{
    std::string text = output;
    while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
        text.pop_back();
    const size_t start = text.rfind('\n');
    const std::string line = text.substr(start == std::string::npos ? 0 : start + 1);
    return line.empty() || !isdigit(static_cast<unsigned char>(line[0])) ? 0 : std::stoull(line);
}

bool have_e2fsprogs()
{
    int status = 0;
    run("mkfs.ext2 -V", &status);
    int status2 = 0;
    run("debugfs -V", &status2);
    return status == 0 && status2 == 0;
}

std::vector<u8> read_file(const std::string& path)
{
    std::vector<u8> data;
    FILE* file = fopen(path.c_str(), "rb");
    if (!file)
        return data;
    fseek(file, 0, SEEK_END);
    data.resize(static_cast<size_t>(ftell(file)));
    fseek(file, 0, SEEK_SET);
    if (fread(data.data(), 1, data.size(), file) != data.size())
        data.clear();
    fclose(file);
    return data;
}

void write_file(const std::string& path, const std::vector<u8>& data)
{
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
}

std::vector<u8> random_bytes(std::mt19937_64& rng, size_t size)
{
    std::vector<u8> data(size);
    for (size_t i = 0; i < size; i++)
        data[i] = static_cast<u8>(rng());
    return data;
}

class TempDir {
public:
    TempDir()
    {
        char pattern[] = "/tmp/sluice-ext2-XXXXXX";
        m_path = mkdtemp(pattern);
    }
    ~TempDir() { run("rm -rf '" + m_path + "'"); }
    const std::string& path() const { return m_path; }

private:
    std::string m_path;
};

// Path resolution over the ext2 code (no symlink following: the tests name real paths).
Result<ext2::Inode> resolve(ext2::FileSystem& fs, const std::string& path)
{
    ext2::Inode inode;
    TRY(fs.read_inode(ext2::ROOT_INO, inode));
    size_t pos = 0;
    while (pos < path.size()) {
        while (pos < path.size() && path[pos] == '/')
            pos++;
        size_t end = path.find('/', pos);
        if (end == std::string::npos)
            end = path.size();
        if (end == pos)
            break;
        const u32 number = TRY(fs.lookup(inode, StringView(path.data() + pos, end - pos)));
        TRY(fs.read_inode(number, inode));
        pos = end;
    }
    return inode;
}

std::vector<u8> read_all(ext2::FileSystem& fs, ext2::Inode& inode)
{
    std::vector<u8> data(inode.size());
    auto n = fs.read(inode, 0, data.data(), data.size());
    EXPECT_FALSE(n.is_error());
    if (!n.is_error()) {
        EXPECT_EQ(n.value(), data.size());
    }
    return data;
}

std::set<std::string> list_directory(ext2::FileSystem& fs, ext2::Inode& directory)
{
    std::set<std::string> names;
    u64 offset = 0;
    ext2::DirEntryInfo entry;
    for (;;) {
        auto more = fs.read_dir(directory, offset, entry);
        EXPECT_FALSE(more.is_error());
        if (more.is_error() || !more.value())
            break;
        names.insert(entry.name);
    }
    return names;
}

// Recount the bitmaps and compare with the group descriptors and superblock:
// the free counts must be exact.
void expect_exact_free_counts(std::vector<u8>& image)
{
    auto* sb = reinterpret_cast<ext2::SuperBlock*>(image.data() + ext2::SUPERBLOCK_OFFSET);
    const u32 block_size = 1024u << sb->s_log_block_size;
    const u32 groups
        = (sb->s_blocks_count - sb->s_first_data_block + sb->s_blocks_per_group - 1) / sb->s_blocks_per_group;
    auto* gdt
        = reinterpret_cast<ext2::GroupDescriptor*>(image.data() + (sb->s_first_data_block + 1) * block_size);
    u64 free_blocks = 0;
    u64 free_inodes = 0;
    for (u32 g = 0; g < groups; g++) {
        const u32 blocks = g + 1 < groups
            ? sb->s_blocks_per_group
            : sb->s_blocks_count - sb->s_first_data_block - g * sb->s_blocks_per_group;
        const u8* block_bitmap = image.data() + static_cast<u64>(gdt[g].bg_block_bitmap) * block_size;
        const u8* inode_bitmap = image.data() + static_cast<u64>(gdt[g].bg_inode_bitmap) * block_size;
        u32 group_free_blocks = 0;
        for (u32 b = 0; b < blocks; b++)
            group_free_blocks += !(block_bitmap[b / 8] & (1 << (b % 8)));
        u32 group_free_inodes = 0;
        for (u32 i = 0; i < sb->s_inodes_per_group; i++)
            group_free_inodes += !(inode_bitmap[i / 8] & (1 << (i % 8)));
        EXPECT_EQ(gdt[g].bg_free_blocks_count, group_free_blocks) << "group " << g;
        EXPECT_EQ(gdt[g].bg_free_inodes_count, group_free_inodes) << "group " << g;
        free_blocks += group_free_blocks;
        free_inodes += group_free_inodes;
    }
    EXPECT_EQ(sb->s_free_blocks_count, free_blocks);
    EXPECT_EQ(sb->s_free_inodes_count, free_inodes);
}

// e2fsck -fn: forced full check, answer "no" to everything; 0 means clean.
void expect_fsck_clean(const std::string& image_path)
{
    int status = -1;
    std::string output = run("e2fsck -fn '" + image_path + "'", &status);
    EXPECT_EQ(status, 0) << output;
}

struct Expected {
    std::vector<u8> content;
    bool is_symlink = false;
    std::string target;
};

} // namespace

class Ext2Image : public ::testing::TestWithParam<u32> {
protected:
    void SetUp() override
    {
        if (!have_e2fsprogs())
            GTEST_SKIP() << "mkfs.ext2/debugfs not installed";
    }
};

// The reading half: mkfs.ext2 -d builds the image from a host directory; every
// file, directory listing and symlink must read back identically.
TEST_P(Ext2Image, ReadsWhatMkfsWrote)
{
    const u32 block_size = GetParam();
    TempDir temp;
    const std::string source = temp.path() + "/source";
    mkdir(source.c_str(), 0755);
    std::mt19937_64 rng(block_size);
    std::map<std::string, Expected> expected;

    // Sizes around every mapping boundary: direct, indirect, double indirect.
    const u64 per_block = block_size / 4;
    std::vector<u64> sizes
        = { 0, 1, 100, block_size - 1, block_size, block_size + 1, 12 * block_size, 12 * block_size + 1,
              (12 + per_block) * block_size, (12 + per_block) * block_size + 7, 3 * 1024 * 1024 + 12345 };
    for (size_t i = 0; i < sizes.size(); i++) {
        const std::string name = "/file" + std::to_string(i);
        expected[name].content = random_bytes(rng, sizes[i]);
        write_file(source + name, expected[name].content);
    }
    // Many files in one directory: several directory blocks.
    mkdir((source + "/many").c_str(), 0755);
    for (int i = 0; i < 150; i++) {
        const std::string name = "/many/entry-with-a-longish-name-" + std::to_string(i);
        expected[name].content = random_bytes(rng, rng() % 3000);
        write_file(source + name, expected[name].content);
    }
    // A deep directory chain.
    std::string deep;
    for (int i = 0; i < 24; i++) {
        deep += "/d" + std::to_string(i);
        mkdir((source + deep).c_str(), 0755);
    }
    expected[deep + "/leaf"].content = random_bytes(rng, 777);
    write_file(source + deep + "/leaf", expected[deep + "/leaf"].content);
    // Sparse files: a hole then data, reaching the triple indirect block.
    const u64 triple_start = (12 + per_block + per_block * per_block) * block_size;
    {
        const std::string name = "/sparse-triple";
        std::vector<u8> tail = random_bytes(rng, 5000);
        const u64 offset = triple_start + 3 * block_size + 11;
        int fd = ::open((source + name).c_str(), O_CREAT | O_WRONLY, 0644);
        ASSERT_GE(fd, 0);
        ASSERT_EQ(pwrite(fd, "head", 4, 0), 4);
        ASSERT_EQ(pwrite(fd, tail.data(), tail.size(), static_cast<off_t>(offset)),
            static_cast<ssize_t>(tail.size()));
        close(fd);
        // Compare only the interesting ranges (the file may be GiBs long).
        expected[name].content.clear();
        expected[name].target = std::to_string(offset);
        expected[name + "#tail"].content = tail;
    }
    // Symlinks: fast (in the inode) and slow (in a block).
    expected["/fast-link"].is_symlink = true;
    expected["/fast-link"].target = "file1";
    expected["/slow-link"].is_symlink = true;
    expected["/slow-link"].target = "many/" + std::string(100, 'z');
    for (auto& [name, entry] : expected) {
        if (entry.is_symlink) {
            ASSERT_EQ(symlink(entry.target.c_str(), (source + name).c_str()), 0);
        }
    }

    const std::string image_path = temp.path() + "/image";
    int status = -1;
    std::string output = run(
        "mkfs.ext2 -q -F -b " + std::to_string(block_size) + " -d '" + source + "' '" + image_path + "' 48M",
        &status);
    ASSERT_EQ(status, 0) << output;

    MemoryBlockCache cache(read_file(image_path));
    ext2::FileSystem fs(cache, fixed_clock);
    ASSERT_FALSE(fs.mount(ext2::MOUNT_READ_ONLY).is_error()) << fs.message();
    EXPECT_EQ(fs.block_size(), block_size);
    EXPECT_TRUE(fs.is_read_only());

    for (auto& [name, entry] : expected) {
        if (name.find('#') != std::string::npos)
            continue;
        auto inode = resolve(fs, name);
        ASSERT_FALSE(inode.is_error()) << name << ": errno " << inode.error().code();
        if (entry.is_symlink) {
            ASSERT_TRUE(inode.value().is_symlink()) << name;
            char target[4096];
            auto length = fs.read_link(inode.value(), target, sizeof(target));
            ASSERT_FALSE(length.is_error()) << name;
            EXPECT_EQ(std::string(target, length.value()), entry.target) << name;
        } else if (name == "/sparse-triple") {
            const u64 offset = std::stoull(entry.target);
            const auto& tail = expected[name + "#tail"].content;
            EXPECT_EQ(inode.value().size(), offset + tail.size());
            std::vector<u8> head(4);
            ASSERT_EQ(fs.read(inode.value(), 0, head.data(), 4).value(), 4u);
            EXPECT_EQ(std::string(head.begin(), head.end()), "head");
            std::vector<u8> hole(3 * block_size, 0xAA);
            ASSERT_EQ(fs.read(inode.value(), triple_start, hole.data(), hole.size()).value(), hole.size());
            EXPECT_EQ(hole, std::vector<u8>(hole.size(), 0));
            std::vector<u8> got(tail.size());
            ASSERT_EQ(fs.read(inode.value(), offset, got.data(), got.size()).value(), got.size());
            EXPECT_EQ(got, tail);
            // Reading past the end returns nothing.
            EXPECT_EQ(fs.read(inode.value(), offset + tail.size(), got.data(), 10).value(), 0u);
        } else {
            ASSERT_TRUE(inode.value().is_regular()) << name;
            EXPECT_EQ(inode.value().size(), entry.content.size()) << name;
            EXPECT_TRUE(read_all(fs, inode.value()) == entry.content) << name;
        }
    }

    auto many = resolve(fs, "/many");
    ASSERT_FALSE(many.is_error());
    std::set<std::string> names = list_directory(fs, many.value());
    EXPECT_EQ(names.size(), 152u); // 150 files, ".", ".."
    EXPECT_TRUE(names.count(".") && names.count(".."));
    auto root = resolve(fs, "/");
    ASSERT_FALSE(root.is_error());
    u8 type = 0;
    EXPECT_FALSE(fs.lookup(root.value(), "many", &type).is_error());
    EXPECT_EQ(type, ext2::FT_DIR);
    EXPECT_EQ(fs.lookup(root.value(), "nope").error().code(), ENOENT);
    EXPECT_EQ(fs.lookup(root.value(), std::string(256, 'n').c_str()).error().code(), ENAMETOOLONG);
    auto file = resolve(fs, "/file1");
    EXPECT_EQ(fs.lookup(file.value(), "x").error().code(), ENOTDIR);

    // Read-only: every change is EROFS.
    ext2::Inode out;
    EXPECT_EQ(fs.create(root.value(), "new", ext2::MODE_REGULAR | 0644, out).error().code(), EROFS);
    EXPECT_FALSE(fs.unmount().is_error());

    // Sparse superblock placement matches what mkfs wrote (dumpe2fs lists backups).
    output = run("dumpe2fs '" + image_path + "'");
    for (u32 group = 0; group < fs.group_count(); group++) {
        const std::string marker = "Group " + std::to_string(group) + ":";
        const size_t at = output.find(marker);
        ASSERT_NE(at, std::string::npos);
        const size_t next = output.find("Group ", at + marker.size());
        const std::string section = output.substr(at, next - at);
        EXPECT_EQ(section.find("superblock at") != std::string::npos, fs.group_has_superblock(group))
            << "group " << group;
    }
}

// The writing half: an empty image from mkfs, a scripted sequence of changes
// through Sluice's code, then e2fsck -fn must find nothing to fix and debugfs
// must read back every file's exact content.
TEST_P(Ext2Image, WritesThatE2fsckAccepts)
{
    const u32 block_size = GetParam();
    TempDir temp;
    const std::string image_path = temp.path() + "/image";
    int status = -1;
    std::string output
        = run("mkfs.ext2 -q -F -b " + std::to_string(block_size) + " '" + image_path + "' 64M", &status);
    ASSERT_EQ(status, 0) << output;

    std::mt19937_64 rng(block_size * 7);
    std::map<std::string, std::vector<u8>> files; // path -> content
    std::map<std::string, std::string> symlinks; // path -> target
    const u64 per_block = block_size / 4;
    {
        MemoryBlockCache cache(read_file(image_path));
        ext2::FileSystem fs(cache, fixed_clock);
        ASSERT_FALSE(fs.mount(0).is_error()) << fs.message();
        ASSERT_FALSE(fs.is_read_only());
        const u64 free_blocks_at_start = fs.free_blocks();
        const u64 free_inodes_at_start = fs.free_inodes();

        ext2::Inode root;
        ASSERT_FALSE(fs.read_inode(ext2::ROOT_INO, root).is_error());
        ext2::Inode dir_a, dir_b, inode;
        ASSERT_FALSE(fs.mkdir(root, "a", 0755, dir_a).is_error());
        ASSERT_FALSE(fs.mkdir(root, "b", 0755, dir_b).is_error());
        EXPECT_EQ(root.disk.i_links_count, 5); // ., .., lost+found/.., a/.., b/..
        EXPECT_EQ(fs.mkdir(root, "a", 0755, inode).error().code(), EEXIST);

        // Files across every mapping level, written in uneven chunks.
        std::vector<u64> sizes = { 0, 1, block_size, 12 * block_size + 1, (12 + per_block) * block_size + 3,
            (12 + per_block + 2 * per_block) * block_size, 2 * 1024 * 1024 + 5 };
        for (size_t i = 0; i < sizes.size(); i++) {
            const std::string name = "f" + std::to_string(i);
            ASSERT_FALSE(
                fs.create(dir_a, StringView(name.c_str()), ext2::MODE_REGULAR | 0644, inode).is_error());
            std::vector<u8> data = random_bytes(rng, sizes[i]);
            for (size_t done = 0; done < data.size();) {
                const size_t chunk = std::min<size_t>(data.size() - done, 1 + rng() % 20000);
                auto written = fs.write(inode, done, data.data() + done, chunk);
                ASSERT_FALSE(written.is_error());
                ASSERT_EQ(written.value(), chunk);
                done += chunk;
            }
            files["/a/" + name] = data;
        }
        EXPECT_EQ(fs.create(dir_a, "f1", ext2::MODE_REGULAR | 0644, inode).error().code(), EEXIST);

        // Append, overwrite in the middle, shrink across indirect levels, grow sparse.
        {
            auto f = resolve(fs, "/a/f1");
            ASSERT_FALSE(f.is_error());
            std::vector<u8> more = random_bytes(rng, 3 * block_size);
            ASSERT_FALSE(fs.write(f.value(), f.value().size(), more.data(), more.size()).is_error());
            files["/a/f1"].insert(files["/a/f1"].end(), more.begin(), more.end());

            auto big = resolve(fs, "/a/f6");
            std::vector<u8>& content = files["/a/f6"];
            std::vector<u8> patch = random_bytes(rng, 10000);
            ASSERT_FALSE(fs.write(big.value(), 500000, patch.data(), patch.size()).is_error());
            std::copy(patch.begin(), patch.end(), content.begin() + 500000);
            ASSERT_FALSE(
                fs.truncate(big.value(), 13 * block_size + 17).is_error()); // into the indirect range
            content.resize(13 * block_size + 17);
            ASSERT_FALSE(fs.truncate(big.value(), 20 * block_size).is_error()); // grows with a hole
            content.resize(20 * block_size, 0);
            std::vector<u8> tail = random_bytes(rng, 100);
            ASSERT_FALSE(fs.write(big.value(), 40 * block_size, tail.data(), tail.size()).is_error());
            content.resize(40 * block_size, 0);
            content.insert(content.end(), tail.begin(), tail.end());

            auto f5 = resolve(fs, "/a/f5");
            ASSERT_FALSE(fs.truncate(f5.value(), 5).is_error()); // double indirect -> direct
            files["/a/f5"].resize(5);
            auto f4 = resolve(fs, "/a/f4");
            ASSERT_FALSE(fs.truncate(f4.value(), 0).is_error());
            files["/a/f4"].clear();
        }
        // A sparse file reaching the triple indirect block.
        {
            ASSERT_FALSE(fs.create(dir_b, "sparse", ext2::MODE_REGULAR | 0600, inode).is_error());
            const u64 offset = (12 + per_block + per_block * per_block + 5) * block_size + 3;
            std::vector<u8> data = random_bytes(rng, 2 * block_size);
            ASSERT_FALSE(fs.write(inode, offset, data.data(), data.size()).is_error());
            std::vector<u8> check(data.size());
            ASSERT_EQ(fs.read(inode, offset, check.data(), check.size()).value(), check.size());
            EXPECT_EQ(check, data);
            // Not kept in the model as a whole (could be GiBs): check its tail on the host below.
            symlinks["#sparse-offset"] = std::to_string(offset);
            files["#sparse-data"] = data;
        }
        // Symlinks, a hard link, renames, unlink, rmdir.
        ASSERT_FALSE(fs.symlink(dir_b, "fast", "../a/f1", inode).is_error());
        symlinks["/b/fast"] = "../a/f1";
        const std::string long_target = std::string(200, 'q') + "/target";
        ASSERT_FALSE(fs.symlink(dir_b, "slow", StringView(long_target.c_str()), inode).is_error());
        symlinks["/b/slow"] = long_target;
        {
            auto f2 = resolve(fs, "/a/f2");
            ASSERT_FALSE(fs.link(dir_b, "hard", f2.value()).is_error());
            files["/b/hard"] = files["/a/f2"];
            EXPECT_EQ(f2.value().disk.i_links_count, 2);
        }
        ext2::Inode replaced;
        ASSERT_FALSE(fs.rename(dir_a, "f3", dir_b, "moved", replaced).is_error());
        EXPECT_EQ(replaced.number, 0u);
        files["/b/moved"] = files["/a/f3"];
        files.erase("/a/f3");
        // Replace an existing file: the old one's blocks are freed on release.
        ASSERT_FALSE(fs.rename(dir_a, "f0", dir_b, "moved", replaced).is_error());
        EXPECT_NE(replaced.number, 0u);
        EXPECT_EQ(replaced.disk.i_links_count, 0);
        ASSERT_FALSE(fs.release(replaced).is_error());
        files["/b/moved"] = files["/a/f0"];
        files.erase("/a/f0");
        // A directory moves to another parent.
        ext2::Inode sub;
        ASSERT_FALSE(fs.mkdir(dir_a, "sub", 0755, sub).is_error());
        ASSERT_FALSE(fs.create(sub, "inside", ext2::MODE_REGULAR | 0644, inode).is_error());
        std::vector<u8> inside = random_bytes(rng, 999);
        ASSERT_FALSE(fs.write(inode, 0, inside.data(), inside.size()).is_error());
        files["/b/sub2/inside"] = inside;
        EXPECT_EQ(fs.rename(root, "a", sub, "loop", replaced).error().code(), EINVAL); // into itself
        ASSERT_FALSE(fs.rename(dir_a, "sub", dir_b, "sub2", replaced).is_error());
        // rmdir rules.
        EXPECT_EQ(fs.rmdir(root, "b", inode).error().code(), ENOTEMPTY);
        EXPECT_EQ(fs.rmdir(dir_b, "moved", inode).error().code(), ENOTDIR);
        ext2::Inode empty;
        ASSERT_FALSE(fs.mkdir(root, "empty", 0700, empty).is_error());
        ASSERT_FALSE(fs.rmdir(root, "empty", inode).is_error());
        ASSERT_FALSE(fs.release(inode).is_error());
        // unlink: one name of the hard-linked pair, then a whole file.
        EXPECT_EQ(fs.unlink(root, "a", inode).error().code(), EISDIR);
        ASSERT_FALSE(fs.unlink(dir_a, "f2", inode).is_error());
        EXPECT_EQ(inode.disk.i_links_count, 1);
        files.erase("/a/f2");
        ASSERT_FALSE(fs.unlink(dir_a, "f6", inode).is_error());
        ASSERT_FALSE(fs.release(inode).is_error());
        files.erase("/a/f6");

        // Many files in one directory, half removed again: entries merge and get reused.
        ext2::Inode crowd;
        ASSERT_FALSE(fs.mkdir(root, "crowd", 0755, crowd).is_error());
        for (int i = 0; i < 300; i++) {
            const std::string name = "member-" + std::to_string(i) + std::string(i % 40, 'x');
            ASSERT_FALSE(
                fs.create(crowd, StringView(name.c_str()), ext2::MODE_REGULAR | 0644, inode).is_error());
            std::vector<u8> data = random_bytes(rng, rng() % (3 * block_size));
            ASSERT_FALSE(fs.write(inode, 0, data.data(), data.size()).is_error());
            files["/crowd/" + name] = data;
        }
        for (int i = 0; i < 300; i += 2) {
            const std::string name = "member-" + std::to_string(i) + std::string(i % 40, 'x');
            ASSERT_FALSE(fs.unlink(crowd, StringView(name.c_str()), inode).is_error());
            ASSERT_FALSE(fs.release(inode).is_error());
            files.erase("/crowd/" + name);
        }
        const u64 crowd_size = crowd.size();
        for (int i = 0; i < 100; i++) {
            const std::string name = "again-" + std::to_string(i);
            ASSERT_FALSE(
                fs.create(crowd, StringView(name.c_str()), ext2::MODE_REGULAR | 0644, inode).is_error());
            files["/crowd/" + name] = {};
        }
        EXPECT_EQ(crowd.size(), crowd_size); // freed entries were reused
        auto names = list_directory(fs, crowd);
        EXPECT_EQ(names.size(), 150u + 100u + 2u);

        EXPECT_LT(fs.free_blocks(), free_blocks_at_start);
        EXPECT_LT(fs.free_inodes(), free_inodes_at_start);
        ASSERT_FALSE(fs.unmount().is_error());
        EXPECT_EQ(cache.pinned(), 0);
        expect_exact_free_counts(cache.image());
        write_file(image_path, cache.image());
    }

    expect_fsck_clean(image_path);

    // Read everything back with debugfs in one run.
    const std::string out_dir = temp.path() + "/out";
    mkdir(out_dir.c_str(), 0755);
    std::string commands;
    std::map<std::string, std::string> dumped;
    int index = 0;
    for (auto& [path, content] : files) {
        if (path[0] == '#')
            continue;
        const std::string host = out_dir + "/" + std::to_string(index++);
        commands += "dump " + path + " " + host + "\n";
        dumped[path] = host;
    }
    for (auto& [path, target] : symlinks) {
        if (path[0] == '#')
            continue;
        commands += "stat " + path + "\n";
    }
    write_file(temp.path() + "/commands", std::vector<u8>(commands.begin(), commands.end()));
    output = run("debugfs -f '" + temp.path() + "/commands' '" + image_path + "'", &status);
    ASSERT_EQ(status, 0) << output;
    for (auto& [path, host] : dumped)
        EXPECT_TRUE(read_file(host) == files[path]) << path;
    EXPECT_NE(output.find("Fast link dest: \"../a/f1\""), std::string::npos) << output;
    // The slow symlink's block holds its target.
    output = run("debugfs -R 'cat /b/slow' '" + image_path + "'");
    EXPECT_NE(output.find(symlinks["/b/slow"]), std::string::npos);
    // The triple-indirect sparse file's data: debugfs maps each of its blocks
    // (bmap), and the image holds the data there. (No dump: debugfs would
    // write the holes out as GiBs of zeros.)
    {
        const u64 offset = std::stoull(symlinks["#sparse-offset"]);
        const std::vector<u8>& data = files["#sparse-data"];
        std::vector<u8> image = read_file(image_path);
        for (u64 position = offset; position < offset + data.size();) {
            const u64 file_block = position / block_size;
            const u64 in_block = position % block_size;
            const u64 chunk = std::min<u64>(block_size - in_block, offset + data.size() - position);
            output
                = run("debugfs -R 'bmap /b/sparse " + std::to_string(file_block) + "' '" + image_path + "'");
            const u64 physical = last_line_number(output);
            ASSERT_NE(physical, 0u) << output;
            EXPECT_TRUE(std::equal(data.begin() + (position - offset),
                data.begin() + (position - offset + chunk), image.begin() + physical * block_size + in_block))
                << "file block " << file_block;
            position += chunk;
        }
    }
}

INSTANTIATE_TEST_SUITE_P(BlockSizes, Ext2Image, ::testing::Values(1024u, 2048u, 4096u));

// Mount policy: features decide between refusing, read-only, and read-write.
TEST(Ext2Mount, RefusesUnsupportedIncompatFeaturesByName)
{
    if (!have_e2fsprogs())
        GTEST_SKIP();
    TempDir temp;
    const std::string image_path = temp.path() + "/image";
    int status;
    run("mke2fs -q -F -t ext4 '" + image_path + "' 16M", &status);
    ASSERT_EQ(status, 0);
    MemoryBlockCache cache(read_file(image_path));
    ext2::FileSystem fs(cache, fixed_clock);
    auto result = fs.mount(0);
    ASSERT_TRUE(result.is_error());
    EXPECT_EQ(result.error().code(), EINVAL);
    const std::string message = fs.message();
    EXPECT_NE(message.find("extent"), std::string::npos) << message;
    EXPECT_NE(message.find("flex_bg"), std::string::npos) << message;
    EXPECT_EQ(message.find("filetype"), std::string::npos) << message; // supported, not named
}

TEST(Ext2Mount, UnknownRoCompatFeatureMountsReadOnly)
{
    if (!have_e2fsprogs())
        GTEST_SKIP();
    TempDir temp;
    const std::string image_path = temp.path() + "/image";
    int status;
    run("mkfs.ext2 -q -F '" + image_path + "' 8M", &status);
    ASSERT_EQ(status, 0);
    std::vector<u8> image = read_file(image_path);
    auto* sb = reinterpret_cast<ext2::SuperBlock*>(image.data() + ext2::SUPERBLOCK_OFFSET);
    sb->s_feature_ro_compat |= ext2::RO_COMPAT_HUGE_FILE;
    MemoryBlockCache cache(image);
    ext2::FileSystem fs(cache, fixed_clock);
    ASSERT_FALSE(fs.mount(0).is_error()) << fs.message();
    EXPECT_TRUE(fs.is_read_only());
    EXPECT_NE(std::string(fs.message()).find("huge_file"), std::string::npos) << fs.message();
    ext2::Inode root, out;
    ASSERT_FALSE(fs.read_inode(ext2::ROOT_INO, root).is_error());
    EXPECT_EQ(fs.mkdir(root, "x", 0755, out).error().code(), EROFS);
}

TEST(Ext2Mount, Ext3JournalMountsReadOnlyNamingTheFeature)
{
    if (!have_e2fsprogs())
        GTEST_SKIP();
    TempDir temp;
    const std::string image_path = temp.path() + "/image";
    int status;
    run("mke2fs -q -F -t ext3 '" + image_path + "' 8M", &status);
    ASSERT_EQ(status, 0);
    {
        MemoryBlockCache cache(read_file(image_path));
        ext2::FileSystem fs(cache, fixed_clock);
        ASSERT_FALSE(fs.mount(0).is_error()) << fs.message();
        EXPECT_TRUE(fs.is_read_only());
        EXPECT_NE(std::string(fs.message()).find("has_journal"), std::string::npos) << fs.message();
        ext2::Inode root, out;
        ASSERT_FALSE(fs.read_inode(ext2::ROOT_INO, root).is_error());
        EXPECT_EQ(fs.mkdir(root, "x", 0755, out).error().code(), EROFS);
    }
    {
        // Asked for read-only: the same, and the message still names it.
        MemoryBlockCache cache(read_file(image_path));
        ext2::FileSystem fs(cache, fixed_clock);
        ASSERT_FALSE(fs.mount(ext2::MOUNT_READ_ONLY).is_error()) << fs.message();
        EXPECT_TRUE(fs.is_read_only());
        EXPECT_NE(std::string(fs.message()).find("has_journal"), std::string::npos) << fs.message();
    }
    {
        // A journal left dirty (needs_recovery, incompat) is refused.
        std::vector<u8> image = read_file(image_path);
        auto* sb = reinterpret_cast<ext2::SuperBlock*>(image.data() + ext2::SUPERBLOCK_OFFSET);
        sb->s_feature_incompat |= ext2::INCOMPAT_RECOVER;
        MemoryBlockCache cache(image);
        ext2::FileSystem fs(cache, fixed_clock);
        auto result = fs.mount(0);
        ASSERT_TRUE(result.is_error());
        EXPECT_EQ(result.error().code(), EINVAL);
        EXPECT_NE(std::string(fs.message()).find("needs_recovery"), std::string::npos) << fs.message();
    }
}

TEST(Ext2Mount, RejectsGarbageAndReadsRevisionZero)
{
    if (!have_e2fsprogs())
        GTEST_SKIP();
    {
        MemoryBlockCache cache(std::vector<u8>(1 << 20, 0));
        ext2::FileSystem fs(cache, fixed_clock);
        EXPECT_EQ(fs.mount(0).error().code(), EINVAL);
        EXPECT_NE(std::string(fs.message()).find("not an ext2"), std::string::npos);
    }
    TempDir temp;
    const std::string source = temp.path() + "/source";
    mkdir(source.c_str(), 0755);
    std::mt19937_64 rng(3);
    std::vector<u8> data = random_bytes(rng, 40000);
    write_file(source + "/old", data);
    const std::string image_path = temp.path() + "/image";
    int status;
    std::string output = run("mkfs.ext2 -q -F -r 0 -d '" + source + "' '" + image_path + "' 8M", &status);
    ASSERT_EQ(status, 0) << output;
    MemoryBlockCache cache(read_file(image_path));
    ext2::FileSystem fs(cache, fixed_clock);
    ASSERT_FALSE(fs.mount(0).is_error()) << fs.message();
    EXPECT_EQ(fs.superblock().s_rev_level, ext2::GOOD_OLD_REV);
    auto inode = resolve(fs, "/old");
    ASSERT_FALSE(inode.is_error());
    EXPECT_TRUE(read_all(fs, inode.value()) == data);
    // Writing to a revision 0 filesystem works too (no filetype in entries).
    ext2::Inode root, created;
    ASSERT_FALSE(fs.read_inode(ext2::ROOT_INO, root).is_error());
    ASSERT_FALSE(fs.create(root, "new", ext2::MODE_REGULAR | 0644, created).is_error());
    ASSERT_FALSE(fs.write(created, 0, data.data(), 5000).is_error());
    ASSERT_FALSE(fs.unmount().is_error());
    write_file(image_path, cache.image());
    expect_fsck_clean(image_path);
}

namespace {

// Hands out each block in a heap buffer of exactly one block (copied back to
// the image when released), so that ASan reports any access past a block's
// end, which a pointer into the whole image would hide.
class OneBlockBufferCache final : public ext2::BlockCache {
public:
    explicit OneBlockBufferCache(std::vector<u8> image)
        : m_image(std::move(image))
    {
    }
    ~OneBlockBufferCache() { EXPECT_EQ(m_pinned, 0) << "block refs leaked"; }

    u32 block_size() const override { return m_block_size; }
    Result<void> set_block_size(u32 size) override
    {
        m_block_size = size;
        return {};
    }
    u64 device_size_bytes() const override { return m_image.size(); }
    Result<ext2::BlockRef> read(u64 block) override
    {
        if ((block + 1) * m_block_size > m_image.size())
            return Error::from_errno(EIO);
        u8* buffer = new u8[m_block_size];
        memcpy(buffer, m_image.data() + block * m_block_size, m_block_size);
        m_pinned++;
        return ext2::BlockRef(this, block, buffer, nullptr);
    }
    Result<ext2::BlockRef> zeroed(u64 block) override
    {
        auto ref = TRY(read(block));
        memset(ref.data(), 0, m_block_size);
        return ref;
    }
    Result<void> sync() override { return {}; }
    void mark_dirty(ext2::BlockRef&) override { }
    void release(ext2::BlockRef& ref) override
    {
        memcpy(m_image.data() + ref.block() * m_block_size, ref.data(), m_block_size);
        delete[] ref.data();
        m_pinned--;
    }
    std::vector<u8>& image() { return m_image; }

private:
    std::vector<u8> m_image;
    u32 m_block_size = 1024;
    int m_pinned = 0;
};

} // namespace

// A directory block whose entries end 4 bytes before the block's end leaves
// too little room for an entry header (8 bytes): every walk over the block
// must call it corrupt (EIO) before reading rec_len or name_len out there.
TEST(Ext2Directory, EntryHeaderCrossingTheBlockEndIsCorruptNotReadPastTheBlock)
{
    if (!have_e2fsprogs())
        GTEST_SKIP();
    TempDir temp;
    const std::string source = temp.path() + "/source";
    mkdir(source.c_str(), 0755);
    mkdir((source + "/d").c_str(), 0755);
    const std::string image_path = temp.path() + "/image";
    int status;
    std::string output = run("mkfs.ext2 -q -F -b 1024 -d '" + source + "' '" + image_path + "' 2M", &status);
    ASSERT_EQ(status, 0) << output;
    std::vector<u8> image = read_file(image_path);
    u64 directory_block = 0;
    {
        MemoryBlockCache cache(image);
        ext2::FileSystem fs(cache, fixed_clock);
        ASSERT_FALSE(fs.mount(ext2::MOUNT_READ_ONLY).is_error()) << fs.message();
        auto d = resolve(fs, "/d");
        ASSERT_FALSE(d.is_error());
        directory_block = fs.map_block(d.value(), 0, false).value();
        ASSERT_NE(directory_block, 0u);
    }
    // "." (12 bytes) then ".." shortened by 4: the chain stops at 1020.
    u8* block = image.data() + directory_block * 1024;
    auto* dot = reinterpret_cast<ext2::DirEntryHeader*>(block);
    ASSERT_EQ(dot->rec_len, 12);
    auto* dotdot = reinterpret_cast<ext2::DirEntryHeader*>(block + 12);
    ASSERT_EQ(dotdot->rec_len, 1024 - 12);
    dotdot->rec_len = 1024 - 12 - 4;
    // The inode field of the would-be entry at 1020 looks used.
    memset(block + 1020, 0x11, 4);

    OneBlockBufferCache cache(image);
    ext2::FileSystem fs(cache, fixed_clock);
    ASSERT_FALSE(fs.mount(0).is_error()) << fs.message();
    auto d = resolve(fs, "/d");
    ASSERT_FALSE(d.is_error());
    EXPECT_EQ(fs.lookup(d.value(), "missing").error().code(), EIO);
    EXPECT_EQ(fs.is_empty_directory(d.value()).error().code(), EIO);
    u64 offset = 0;
    ext2::DirEntryInfo entry;
    // readdir hands out "." and ".." and then meets the short tail.
    for (int i = 0; i < 2; i++) {
        auto more = fs.read_dir(d.value(), offset, entry);
        ASSERT_FALSE(more.is_error());
        ASSERT_TRUE(more.value());
    }
    auto more = fs.read_dir(d.value(), offset, entry);
    ASSERT_TRUE(more.is_error());
    EXPECT_EQ(more.error().code(), EIO);
    ext2::Inode created;
    EXPECT_EQ(fs.create(d.value(), "new", ext2::MODE_REGULAR | 0644, created).error().code(), EIO);
}

// Linux's ext2_max_size (fs/ext2/super.c, since "ext2: correct max file size
// computing", 2022), worked by hand for p = block_size / 4 pointers per block:
//   1 KiB: the tree (12 + 256 + 256^2 + 256^3 = 16843020 blocks, with 66051
//          indirect blocks) fits in 2^32-1 sectors: 16843020 KiB.
//   2 KiB: 12 + 512 + 512^2 + 512^3 = 134480396 blocks (+263171 indirect)
//          is below (2^32-1)/4 = 1073741823: 134480396 * 2 KiB.
//   4 KiB: the tree (1074791436 blocks) exceeds (2^32-1)/8 = 536870911, so
//          i_blocks limits it: 536870911 less its indirect blocks
//          (1 + 1+1024 + 1+523263+511 = 524801) = 536346110 blocks.
TEST(Ext2MaxFileSize, MatchesLinuxExt2MaxSize)
{
    EXPECT_EQ(ext2::max_file_size(1024), 16843020ull * 1024);
    EXPECT_EQ(ext2::max_file_size(2048), 134480396ull * 2048);
    EXPECT_EQ(ext2::max_file_size(4096), 536346110ull * 4096);
}

// Writes and truncation against that limit, on a mounted 4 KiB filesystem
// (where i_blocks, not the block tree, sets it): EFBIG at or past it, a
// write that starts below it is shortened to it.
TEST(Ext2MaxFileSize, WritesPastTheLimitAreEfbigOrShortened)
{
    if (!have_e2fsprogs())
        GTEST_SKIP();
    TempDir temp;
    const std::string image_path = temp.path() + "/image";
    int status;
    run("mkfs.ext2 -q -F -b 4096 '" + image_path + "' 8M", &status);
    ASSERT_EQ(status, 0);
    MemoryBlockCache cache(read_file(image_path));
    ext2::FileSystem fs(cache, fixed_clock);
    ASSERT_FALSE(fs.mount(0).is_error()) << fs.message();
    const u64 limit = fs.max_file_size();
    EXPECT_EQ(limit, 536346110ull * 4096);
    ext2::Inode root, file;
    ASSERT_FALSE(fs.read_inode(ext2::ROOT_INO, root).is_error());
    ASSERT_FALSE(fs.create(root, "big", ext2::MODE_REGULAR | 0644, file).is_error());
    const char data[100] = "near the end";
    EXPECT_EQ(fs.write(file, limit, data, 1).error().code(), EFBIG);
    EXPECT_EQ(fs.write(file, ~0ull - 10, data, 100).error().code(), EFBIG);
    auto written = fs.write(file, limit - 10, data, 100);
    ASSERT_FALSE(written.is_error());
    EXPECT_EQ(written.value(), 10u);
    EXPECT_EQ(file.size(), limit);
    char back[10];
    EXPECT_EQ(fs.read(file, limit - 10, back, 100).value(), 10u);
    EXPECT_EQ(memcmp(back, data, 10), 0);
    EXPECT_EQ(fs.truncate(file, limit + 1).error().code(), EFBIG);
    ASSERT_FALSE(fs.truncate(file, limit).is_error());
    ASSERT_FALSE(fs.unmount().is_error());
    write_file(image_path, cache.image());
    expect_fsck_clean(image_path);
}

// A directory is made of distinct blocks of its filesystem, so one larger than
// the filesystem is corrupt: lookup, readdir and the emptiness check answer
// EIO at once instead of mapping up to 4 GiB of holes (found by the ext2 fuzz
// target, tests/fuzz: seconds per lookup on a 64 KiB image).
TEST(Ext2Directory, LargerThanTheFilesystemIsCorruptNotScanned)
{
    if (!have_e2fsprogs())
        GTEST_SKIP();
    TempDir temp;
    const std::string source = temp.path() + "/source";
    mkdir(source.c_str(), 0755);
    mkdir((source + "/d").c_str(), 0755);
    const std::string image_path = temp.path() + "/image";
    int status;
    std::string output = run("mkfs.ext2 -q -F -b 1024 -d '" + source + "' '" + image_path + "' 2M", &status);
    ASSERT_EQ(status, 0) << output;
    MemoryBlockCache cache(read_file(image_path));
    {
        ext2::FileSystem fs(cache, fixed_clock);
        ASSERT_FALSE(fs.mount(0).is_error()) << fs.message();
        auto d = resolve(fs, "/d");
        ASSERT_FALSE(d.is_error());
        // One block on disk; the rest of the claimed size would be holes.
        d.value().disk.i_size = 0xFFFFFC00u;
        ASSERT_FALSE(fs.write_inode(d.value()).is_error());
        ASSERT_FALSE(fs.unmount().is_error());
    }
    ext2::FileSystem fs(cache, fixed_clock);
    ASSERT_FALSE(fs.mount(ext2::MOUNT_READ_ONLY).is_error()) << fs.message();
    auto d = resolve(fs, "/d");
    ASSERT_FALSE(d.is_error());
    EXPECT_EQ(fs.lookup(d.value(), "missing").error().code(), EIO);
    EXPECT_EQ(fs.is_empty_directory(d.value()).error().code(), EIO);
    u64 offset = 0;
    ext2::DirEntryInfo entry;
    auto more = fs.read_dir(d.value(), offset, entry);
    ASSERT_TRUE(more.is_error());
    EXPECT_EQ(more.error().code(), EIO);
    // The root, of a sane size, still reads.
    auto root = resolve(fs, "/");
    ASSERT_FALSE(root.is_error());
    EXPECT_EQ(list_directory(fs, root.value()).count("d"), 1u);
}
