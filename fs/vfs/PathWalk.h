// Path lookup: from a starting directory to a node, component by component,
// with Linux's rules and error codes (fs/namei.c behaviour):
//
// - a path of MAX_PATH_LENGTH (4096) bytes or more: ENAMETOOLONG, before anything else;
// - an empty path: ENOENT;
// - a leading '/' starts at the root; repeated slashes count as one;
// - "." stays, ".." goes to the parent, and stays put at the root;
// - a component longer than MAX_NAME_LENGTH (255): ENAMETOOLONG when it is looked up;
// - a missing intermediate component: ENOENT; an existing non-directory that
//   is followed by more path ("file/x", "file/."): ENOTDIR;
// - symlinks in the middle are always followed, the final one only with
//   WALK_FOLLOW or when a trailing slash follows it; an empty link body is
//   ENOENT; more than 40 links in one lookup (Linux's MAXSYMLINKS): ELOOP;
// - a trailing slash, or WALK_DIRECTORY, on an existing non-directory: ENOTDIR.
//
// The final component is reported, not failed, when it does not exist: the
// caller gets its parent and name and decides (ENOENT for open, create for
// O_CREAT, mkdir, ...). A dangling symlink followed at the end thus yields the
// parent of its target, which is how open(O_CREAT) creates through a link.
//
// The walker knows nothing of dentries, mounts or filesystems: those are behind
// `Ops`, a type providing
//
//   using Node = ...;                        // copyable handle (a refcounted dentry+mount)
//   Result<Node> lookup(const Node& dir, StringView name);   // ENOENT if absent;
//                                            // steps into a filesystem mounted there
//   NodeKind kind(const Node&);
//   Result<usize> read_link(const Node&, char* buffer, usize capacity); // ENAMETOOLONG if it does not fit
//   Node parent(const Node&);                // "..": crosses a mount upward
//   bool same(const Node&, const Node&);
//
// so host tests drive it with a fake tree and the VFS with dentries.
//
// One deliberate difference from Linux: a symlink body is spliced in front of
// the unwalked rest of the path in one MAX_PATH_LENGTH buffer, so a body plus the
// remaining path longer than MAX_PATH_LENGTH fails with ENAMETOOLONG (Linux keeps a
// stack of link bodies and has no such limit).
#pragma once

#include "kernel/lib/Result.h"
#include "kernel/lib/StringView.h"
#include "kernel/lib/Types.h"
#include "kernel/lib/Utility.h"

namespace vfs {

constexpr usize MAX_PATH_LENGTH = 4096; // Linux PATH_MAX: counts the terminating NUL
constexpr usize MAX_NAME_LENGTH = 255; // Linux NAME_MAX
constexpr u32 MAX_SYMLINK_FOLLOWS = 40;

enum class NodeKind : u8 { Directory, Symlink, Other };

// What the last component of the path was.
enum class LastKind : u8 {
    Normal, // a name
    Dot, // "."
    DotDot, // ".."
    Root, // the path was only slashes
};

enum WalkFlags : u32 {
    WALK_FOLLOW = 1 << 0, // follow a symlink in the last component (not lstat/O_NOFOLLOW)
    WALK_DIRECTORY = 1 << 1, // the result must be a directory (O_DIRECTORY)
    WALK_EMPTY_PATH = 1 << 2, // "" means the start node itself (AT_EMPTY_PATH)
};

// Scratch space for one lookup (a slab object in the kernel: too big for a stack).
struct PathBuffer {
    char data[MAX_PATH_LENGTH];
};

// Splits the path held in a PathBuffer into components and splices symlink
// bodies in front of the unwalked rest. The unwalked rest always sits at the
// end of the buffer: [m_position, MAX_PATH_LENGTH).
class PathScanner {
public:
    explicit PathScanner(PathBuffer& buffer)
        : m_buffer(buffer)
    {
    }

    // ENAMETOOLONG if the path (with its NUL) does not fit in MAX_PATH_LENGTH.
    Result<void> start(StringView path);

    // Whether the unwalked rest starts with '/' (the walk then restarts at the root).
    bool rest_is_absolute() const { return m_position < MAX_PATH_LENGTH && m_buffer.data[m_position] == '/'; }

    struct Component {
        StringView name; // empty only when the rest was all slashes
        bool is_last; // nothing but slashes after it
        bool trailing_slash; // is_last and at least one slash after it
    };
    Component next();

    // Where read_link may write a body, and how much room it has.
    char* link_space() { return m_buffer.data; }
    usize link_capacity(bool keep_trailing_slash) const;
    // The body (written at link_space()) becomes the front of the rest.
    void push_link(usize length, bool keep_trailing_slash);

private:
    PathBuffer& m_buffer;
    usize m_position = MAX_PATH_LENGTH;
};

template <typename Node> struct WalkResult {
    Node parent; // directory holding the last component
    Node node; // the last component (valid when `exists`)
    bool exists = false;
    StringView last; // its name; points into the caller's PathBuffer
    LastKind last_kind = LastKind::Normal;
    bool trailing_slash = false;
};

template <typename Ops>
Result<WalkResult<typename Ops::Node>> walk_path(Ops& ops, const typename Ops::Node& root,
    const typename Ops::Node& start, StringView path, u32 flags, PathBuffer& buffer)
{
    using Node = typename Ops::Node;
    WalkResult<Node> result;

    if (path.length() >= MAX_PATH_LENGTH)
        return Error::from_errno(ENAMETOOLONG);
    if (path.is_empty()) {
        if (!(flags & WALK_EMPTY_PATH))
            return Error::from_errno(ENOENT);
        result.parent = start;
        result.node = start;
        result.exists = true;
        result.last_kind = LastKind::Dot;
        return result;
    }

    PathScanner scanner(buffer);
    TRY(scanner.start(path));
    Node current = start;
    u32 links_followed = 0;

    // Follow the symlink `link`: its body goes in front of the rest of the
    // path, and a relative body is walked from `current` (the link's directory).
    auto follow = [&](const Node& link, bool keep_trailing_slash) -> Result<void> {
        if (++links_followed > MAX_SYMLINK_FOLLOWS)
            return Error::from_errno(ELOOP);
        const usize length
            = TRY(ops.read_link(link, scanner.link_space(), scanner.link_capacity(keep_trailing_slash)));
        if (length == 0)
            return Error::from_errno(ENOENT);
        scanner.push_link(length, keep_trailing_slash);
        return {};
    };

    for (;;) {
        if (scanner.rest_is_absolute())
            current = root;
        const PathScanner::Component component = scanner.next();
        const StringView name = component.name;

        if (name.is_empty()) {
            // Only slashes: the root itself ("/", "//", or a link to "/").
            result.parent = current;
            result.node = current;
            result.exists = true;
            result.last_kind = LastKind::Root;
            result.trailing_slash = false;
            break;
        }

        const bool is_dot = name == StringView(".", 1);
        const bool is_dotdot = name == StringView("..", 2);

        if (!component.is_last) {
            if (is_dotdot) {
                if (!ops.same(current, root))
                    current = ops.parent(current);
            } else if (!is_dot) {
                if (name.length() > MAX_NAME_LENGTH)
                    return Error::from_errno(ENAMETOOLONG);
                Node child = TRY(ops.lookup(current, name));
                if (ops.kind(child) == NodeKind::Symlink) {
                    TRY(follow(child, false));
                    continue; // the body's components come next, walked from `current`
                }
                current = kstd::move(child);
            }
            if (ops.kind(current) != NodeKind::Directory)
                return Error::from_errno(ENOTDIR);
            continue;
        }

        // The last component.
        result.last = name;
        result.trailing_slash = component.trailing_slash;
        if (is_dot || is_dotdot) {
            if (ops.kind(current) != NodeKind::Directory)
                return Error::from_errno(ENOTDIR);
            result.last_kind = is_dot ? LastKind::Dot : LastKind::DotDot;
            result.parent = current;
            result.node = (is_dot || ops.same(current, root)) ? current : ops.parent(current);
            result.exists = true;
            break;
        }
        if (ops.kind(current) != NodeKind::Directory)
            return Error::from_errno(ENOTDIR);
        if (name.length() > MAX_NAME_LENGTH)
            return Error::from_errno(ENAMETOOLONG);
        auto child = ops.lookup(current, name);
        if (child.is_error()) {
            if (child.error().code() != ENOENT)
                return child.error();
            result.last_kind = LastKind::Normal;
            result.parent = current;
            result.exists = false;
            break;
        }
        if (ops.kind(child.value()) == NodeKind::Symlink
            && ((flags & WALK_FOLLOW) || component.trailing_slash)) {
            TRY(follow(child.value(), component.trailing_slash));
            continue;
        }
        result.last_kind = LastKind::Normal;
        result.parent = current;
        result.node = child.release_value();
        result.exists = true;
        break;
    }

    if (result.exists && (result.trailing_slash || (flags & WALK_DIRECTORY))
        && ops.kind(result.node) != NodeKind::Directory)
        return Error::from_errno(ENOTDIR);
    return result;
}

} // namespace vfs
