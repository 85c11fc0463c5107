// fs/vfs/PathWalk: Linux's lookup rules and error codes, over a fake tree.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "fs/vfs/PathWalk.h"

using vfs::LastKind;
using vfs::NodeKind;

namespace {

struct FakeNode {
    NodeKind kind;
    std::string name;
    FakeNode* parent = nullptr;
    std::map<std::string, FakeNode*> children;
    std::string target; // symlinks
};

class FakeTree {
public:
    using Node = FakeNode*;

    FakeTree() { m_root = make(NodeKind::Directory, "/", nullptr); }

    FakeNode* root() { return m_root; }

    // Creates every missing directory on the way; the last component gets `kind`.
    FakeNode* add(const std::string& path, NodeKind kind, const std::string& target = "")
    {
        FakeNode* dir = m_root;
        size_t pos = 1;
        for (;;) {
            size_t slash = path.find('/', pos);
            std::string name = path.substr(pos, slash == std::string::npos ? std::string::npos : slash - pos);
            if (slash == std::string::npos) {
                FakeNode* node = make(kind, name, dir);
                node->target = target;
                dir->children[name] = node;
                return node;
            }
            auto it = dir->children.find(name);
            if (it == dir->children.end())
                it = dir->children.emplace(name, make(NodeKind::Directory, name, dir)).first;
            dir = it->second;
            pos = slash + 1;
        }
    }

    // Ops for the walker.
    Result<Node> lookup(const Node& dir, StringView name)
    {
        lookups++;
        auto it = dir->children.find(std::string(name.chars(), name.length()));
        if (it == dir->children.end())
            return Error::from_errno(ENOENT);
        return it->second;
    }
    NodeKind kind(const Node& node) { return node->kind; }
    Result<usize> read_link(const Node& node, char* buffer, usize capacity)
    {
        if (node->target.size() > capacity)
            return Error::from_errno(ENAMETOOLONG);
        memcpy(buffer, node->target.data(), node->target.size());
        return node->target.size();
    }
    Node parent(const Node& node) { return node->parent ? node->parent : node; }
    bool same(const Node& a, const Node& b) { return a == b; }

    int lookups = 0;

private:
    FakeNode* make(NodeKind kind, const std::string& name, FakeNode* parent)
    {
        m_nodes.push_back(std::make_unique<FakeNode>(FakeNode{ kind, name, parent, {}, {} }));
        return m_nodes.back().get();
    }

    FakeNode* m_root;
    std::vector<std::unique_ptr<FakeNode>> m_nodes;
};

class PathWalk : public ::testing::Test {
protected:
    void SetUp() override
    {
        tree.add("/etc/passwd", NodeKind::Other);
        tree.add("/usr/lib/libc.so", NodeKind::Other);
        tree.add("/usr/bin", NodeKind::Directory);
        tree.add("/lib", NodeKind::Symlink, "usr/lib");
        tree.add("/abs", NodeKind::Symlink, "/usr/lib/libc.so");
        tree.add("/dangling", NodeKind::Symlink, "/etc/newfile");
        tree.add("/empty", NodeKind::Symlink, "");
        tree.add("/self", NodeKind::Symlink, "self");
        tree.add("/up", NodeKind::Symlink, "..");
        tree.add("/usr/bin/rel", NodeKind::Symlink, "../lib/libc.so");
        tree.add("/tofile", NodeKind::Symlink, "etc/passwd");
        tree.add("/todir", NodeKind::Symlink, "usr");
        tree.add("/mnt", NodeKind::Directory);
    }

    Result<vfs::WalkResult<FakeNode*>> walk(
        const std::string& path, u32 flags = vfs::WALK_FOLLOW, FakeNode* start = nullptr)
    {
        return vfs::walk_path(tree, tree.root(), start ? start : tree.root(),
            StringView(path.data(), path.size()), flags, buffer);
    }
    int error_of(const std::string& path, u32 flags = vfs::WALK_FOLLOW, FakeNode* start = nullptr)
    {
        auto r = walk(path, flags, start);
        return r.is_error() ? r.error().code() : 0;
    }
    FakeNode* node_of(const std::string& path, u32 flags = vfs::WALK_FOLLOW, FakeNode* start = nullptr)
    {
        auto r = walk(path, flags, start);
        if (r.is_error() || !r.value().exists)
            return nullptr;
        return r.value().node;
    }
    FakeNode* at(const std::string& path) { return node_of(path, 0); }

    FakeTree tree;
    vfs::PathBuffer buffer;
};

} // namespace

TEST_F(PathWalk, AbsoluteRelativeDotAndDotDot)
{
    FakeNode* libc = at("/usr/lib/libc.so");
    ASSERT_NE(libc, nullptr);
    EXPECT_EQ(libc->name, "libc.so");
    EXPECT_EQ(node_of("//usr///lib//libc.so"), libc);
    EXPECT_EQ(node_of("/usr/./lib/../lib/libc.so"), libc);
    EXPECT_EQ(node_of("lib/libc.so", 0, at("/usr")), libc);
    EXPECT_EQ(node_of("../../../../usr/lib/libc.so", 0, at("/usr/bin")), libc); // .. stops at the root
    EXPECT_EQ(node_of("/.."), tree.root());
    EXPECT_EQ(node_of("/usr/lib/.."), at("/usr"));
    EXPECT_EQ(node_of("."), tree.root());

    auto r = walk("/");
    ASSERT_FALSE(r.is_error());
    EXPECT_EQ(r.value().last_kind, LastKind::Root);
    EXPECT_EQ(r.value().node, tree.root());
    auto dot = walk("/usr/.");
    ASSERT_FALSE(dot.is_error());
    EXPECT_EQ(dot.value().last_kind, LastKind::Dot);
    auto dotdot = walk("/usr/..");
    ASSERT_FALSE(dotdot.is_error());
    EXPECT_EQ(dotdot.value().last_kind, LastKind::DotDot);
    EXPECT_EQ(dotdot.value().node, tree.root());
}

TEST_F(PathWalk, MissingLastComponentReportsParentAndName)
{
    auto r = walk("/usr/lib/newfile");
    ASSERT_FALSE(r.is_error());
    EXPECT_FALSE(r.value().exists);
    // `last` lives in the PathBuffer: check it before the next walk reuses it.
    EXPECT_TRUE(r.value().last == StringView("newfile"));
    EXPECT_EQ(r.value().parent, at("/usr/lib"));
    auto dir = walk("/usr/newdir/");
    ASSERT_FALSE(dir.is_error());
    EXPECT_FALSE(dir.value().exists);
    EXPECT_TRUE(dir.value().trailing_slash);
    EXPECT_TRUE(dir.value().last == StringView("newdir"));
}

TEST_F(PathWalk, ErrnoExactlyWhereLinuxReturnsIt)
{
    EXPECT_EQ(error_of(""), ENOENT);
    EXPECT_EQ(error_of("/missing/x"), ENOENT);
    EXPECT_EQ(error_of("/etc/passwd/x"), ENOTDIR);
    EXPECT_EQ(error_of("/etc/passwd/"), ENOTDIR);
    EXPECT_EQ(error_of("/etc/passwd/."), ENOTDIR);
    EXPECT_EQ(error_of("/etc/passwd/.."), ENOTDIR);
    EXPECT_EQ(error_of("/etc/passwd", vfs::WALK_DIRECTORY), ENOTDIR);
    EXPECT_EQ(error_of("x", 0, at("/etc/passwd")), ENOTDIR); // openat on a file descriptor of a file
    EXPECT_EQ(error_of("/etc", vfs::WALK_DIRECTORY), 0);

    const std::string long_name(256, 'a');
    const std::string max_name(255, 'a');
    EXPECT_EQ(error_of("/etc/" + long_name), ENAMETOOLONG);
    EXPECT_EQ(error_of("/etc/" + long_name + "/x"), ENAMETOOLONG);
    EXPECT_EQ(error_of("/etc/" + max_name), 0); // missing, reported, not failed
    // A missing or non-directory component earlier wins over a long name later.
    EXPECT_EQ(error_of("/missing/" + long_name), ENOENT);
    EXPECT_EQ(error_of("/etc/passwd/" + long_name), ENOTDIR);

    std::string path_4095 = "/";
    while (path_4095.size() < 4095)
        path_4095 += "a/";
    path_4095.resize(4095);
    EXPECT_NE(error_of(path_4095), ENAMETOOLONG); // PATH_MAX counts the NUL
    EXPECT_EQ(error_of(path_4095 + "b"), ENAMETOOLONG);
}

TEST_F(PathWalk, SymlinksInTheMiddleAndAtTheEnd)
{
    FakeNode* libc = at("/usr/lib/libc.so");
    EXPECT_EQ(node_of("/lib/libc.so", 0), libc); // relative body, from the link's directory
    EXPECT_EQ(node_of("/usr/bin/rel"), libc); // "../lib/libc.so" from /usr/bin
    EXPECT_EQ(node_of("/abs"), libc); // absolute body
    EXPECT_EQ(node_of("/up/usr/lib/libc.so"), libc); // ".." body
    EXPECT_EQ(node_of("/todir/lib/libc.so"), libc);

    // Without WALK_FOLLOW the last link itself is the result...
    auto r = walk("/abs", 0);
    ASSERT_FALSE(r.is_error());
    EXPECT_EQ(r.value().node->kind, NodeKind::Symlink);
    // ...unless a trailing slash asks for a directory: then it is followed.
    EXPECT_EQ(node_of("/todir/", 0), at("/usr"));
    EXPECT_EQ(error_of("/tofile/", 0), ENOTDIR);
    EXPECT_EQ(error_of("/tofile/x", 0), ENOTDIR);

    EXPECT_EQ(error_of("/empty"), ENOENT);
    EXPECT_EQ(error_of("/empty/x", 0), ENOENT);
    EXPECT_EQ(error_of("/empty", 0), 0); // lstat of an empty link is fine
    EXPECT_EQ(error_of("/self"), ELOOP);
    EXPECT_EQ(error_of("/self/x", 0), ELOOP);
}

TEST_F(PathWalk, DanglingLinkYieldsTheTargetsParentForCreate)
{
    auto r = walk("/dangling");
    ASSERT_FALSE(r.is_error());
    EXPECT_FALSE(r.value().exists);
    EXPECT_TRUE(r.value().last == StringView("newfile"));
    EXPECT_EQ(r.value().parent, at("/etc"));
}

TEST_F(PathWalk, FortyLinksFollowFortyOneLoop)
{
    // /chain/l0 -> l1 -> ... -> l39 -> /etc/passwd: 40 links.
    tree.add("/chain/l39", NodeKind::Symlink, "/etc/passwd");
    for (int i = 38; i >= 0; i--)
        tree.add("/chain/l" + std::to_string(i), NodeKind::Symlink, "l" + std::to_string(i + 1));
    EXPECT_EQ(node_of("/chain/l0"), at("/etc/passwd"));
    tree.add("/chain/m", NodeKind::Symlink, "l0"); // 41 links
    EXPECT_EQ(error_of("/chain/m"), ELOOP);
    EXPECT_EQ(node_of("/chain/m", 0)->kind, NodeKind::Symlink);
    // Links count across the whole lookup, in the middle too.
    EXPECT_EQ(error_of("/chain/m/x"), ELOOP);
    tree.add("/chain/d39", NodeKind::Symlink, "/usr");
    for (int i = 38; i >= 0; i--)
        tree.add("/chain/d" + std::to_string(i), NodeKind::Symlink, "d" + std::to_string(i + 1));
    EXPECT_EQ(node_of("/chain/d0/lib/libc.so"), at("/usr/lib/libc.so")); // 40 links
    EXPECT_EQ(error_of("/chain/d0/bin/rel"), ELOOP); // 41 links
}

TEST_F(PathWalk, LinkBodyLongerThanTheBufferIsNameTooLong)
{
    std::string rest = "/";
    while (rest.size() < 4000)
        rest += "x/";
    tree.add("/big", NodeKind::Symlink, std::string(200, 'y'));
    EXPECT_EQ(error_of("/big" + rest), ENAMETOOLONG);
}
