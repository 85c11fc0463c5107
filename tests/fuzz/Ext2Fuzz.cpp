// libFuzzer target over fs/ext2: the input is a whole ext2 image. It is
// mounted read-only and explored the way the VFS drives the filesystem: every
// directory is listed (read_dir, as getdents) and every name it yields looked
// up again (lookup, as a path walk component); regular files and directories
// are read at their start, middle and end (read -> map_block through the
// indirect blocks, as the page cache's readahead asks); symlinks are read and
// the paths found are walked from the root with vfs::walk_path, following
// links (ELOOP bounds link cycles, ".." moves through the image's own "..").
//
// What counts as a finding: any sanitizer report (each block buffer is exactly
// one block long: see ImageBlockCache.h), a crash, a hang (libFuzzer -timeout),
// a block left pinned, or a write through the read-only mount. A corrupt image
// may be refused at mount or answer EIO anywhere; it must never do more.
//
// Budgets keep one execution short. They are the harness's, not the
// filesystem's: the harness descends into an inode once (a directory cycle
// is the filesystem's to survive) and stops after MAX_BLOCK_READS blocks.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <unordered_set>
#include <vector>

#include "fs/ext2/FileSystem.h"
#include "fs/vfs/PathWalk.h"
#include "tests/fuzz/ImageBlockCache.h"

namespace {

// One execution reads at most this many blocks (the seeds need about 500 to
// be explored whole), so a large tree costs no more than a small one.
constexpr u64 MAX_BLOCK_READS = 400;
constexpr unsigned MAX_DEPTH = 12;
constexpr unsigned MAX_LOOKUPS_PER_DIRECTORY = 4; // names listed then looked up again
constexpr unsigned MAX_PATHS = 8; // symlinks walked to (followed) per image
constexpr usize READ_CHUNK = 512; // bytes read at each of a file's three places

void check(bool condition)
{
    if (!condition)
        abort();
}

// vfs::walk_path's Ops over the ext2 code: a node is an inode, read once.
struct Ext2Ops {
    struct Node {
        u32 number = 0;
        ext2::Inode inode;
    };

    ext2::FileSystem& fs;

    Result<Node> node(u32 number)
    {
        Node out;
        out.number = number;
        TRY(fs.read_inode(number, out.inode));
        return out;
    }
    Result<Node> lookup(const Node& directory, StringView name)
    {
        ext2::Inode inode = directory.inode;
        return node(TRY(fs.lookup(inode, name)));
    }
    vfs::NodeKind kind(const Node& node)
    {
        if (node.inode.is_directory())
            return vfs::NodeKind::Directory;
        return node.inode.is_symlink() ? vfs::NodeKind::Symlink : vfs::NodeKind::Other;
    }
    Result<usize> read_link(const Node& node, char* buffer, usize capacity)
    {
        ext2::Inode inode = node.inode;
        const usize length = TRY(fs.read_link(inode, buffer, capacity));
        check(length <= capacity);
        return length;
    }
    Node parent(const Node& node)
    {
        auto up = lookup(node, StringView("..", 2));
        return up.is_error() ? node : up.release_value();
    }
    bool same(const Node& a, const Node& b) { return a.number == b.number; }
};

class Explorer {
public:
    Explorer(ext2::FileSystem& fs, const fuzz::ImageBlockCache& cache)
        : m_fs(fs)
        , m_cache(cache)
    {
    }

    void run()
    {
        visit(ext2::ROOT_INO, "", 0);
        Ext2Ops ops { m_fs };
        auto root = ops.node(ext2::ROOT_INO);
        if (root.is_error())
            return;
        static vfs::PathBuffer buffer;
        for (const std::string& path : m_paths) {
            if (exhausted())
                return;
            const StringView view(path.data(), path.size());
            auto walked = vfs::walk_path(ops, root.value(), root.value(), view, vfs::WALK_FOLLOW, buffer);
            if (!walked.is_error() && walked.value().exists)
                read_some(walked.value().node.inode);
        }
    }

private:
    bool exhausted() const { return m_cache.reads >= MAX_BLOCK_READS; }

    void note_path(const std::string& path)
    {
        if (m_paths.size() < MAX_PATHS)
            m_paths.push_back(path.empty() ? "/" : path);
    }

    // The start, the middle and the end: through every level of indirection
    // a file of that size uses.
    void read_some(ext2::Inode inode)
    {
        read_at(inode, 0);
        read_at(inode, inode.size() / 2);
        read_at(inode, inode.size() > READ_CHUNK ? inode.size() - READ_CHUNK : 0);
    }

    void read_at(ext2::Inode& inode, u64 offset)
    {
        static u8 buffer[READ_CHUNK];
        auto done = m_fs.read(inode, offset, buffer, sizeof(buffer));
        if (!done.is_error())
            check(done.value() <= sizeof(buffer));
    }

    void visit(u32 number, const std::string& path, unsigned depth)
    {
        if (exhausted() || !m_seen.insert(number).second)
            return;
        ext2::Inode inode;
        if (m_fs.read_inode(number, inode).is_error())
            return;

        if (inode.is_symlink()) {
            static char target[vfs::MAX_PATH_LENGTH];
            auto length = m_fs.read_link(inode, target, sizeof(target));
            if (!length.is_error())
                check(length.value() <= sizeof(target));
            note_path(path);
            return;
        }
        read_some(inode);
        if (!inode.is_directory())
            return;

        (void)m_fs.is_empty_directory(inode);
        u64 offset = 0;
        ext2::DirEntryInfo entry;
        std::vector<std::pair<u32, std::string>> children;
        unsigned lookups = 0;
        while (!exhausted()) {
            const u64 before = offset;
            auto more = m_fs.read_dir(inode, offset, entry);
            if (more.is_error() || !more.value())
                break;
            check(offset > before); // every call moves forward: listing always ends
            check(entry.name[entry.name_length] == 0);
            const StringView name(entry.name, entry.name_length);
            if (name == StringView(".", 1) || name == StringView("..", 2))
                continue;
            if (lookups++ < MAX_LOOKUPS_PER_DIRECTORY)
                (void)m_fs.lookup(inode, name);
            children.emplace_back(entry.inode, path + "/" + std::string(entry.name, entry.name_length));
        }
        if (depth >= MAX_DEPTH)
            return;
        for (const auto& [child, child_path] : children)
            visit(child, child_path, depth + 1);
    }

    ext2::FileSystem& m_fs;
    const fuzz::ImageBlockCache& m_cache;
    std::unordered_set<u32> m_seen;
    std::vector<std::string> m_paths;
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    fuzz::ImageBlockCache cache(data, size);
    {
        ext2::FileSystem fs(cache, nullptr);
        if (fs.mount(ext2::MOUNT_READ_ONLY).is_error())
            return 0;
        Explorer(fs, cache).run();
        check(!fs.unmount().is_error());
    }
    return 0;
}
