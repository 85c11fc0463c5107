#include "kernel/io_uring/RingFile.h"

#include "uapi/stat.h"

namespace io_uring {
namespace {

// The anonymous inodes' filesystem: never mounted, only the owner of ring inodes.
struct AnonSuperBlock final : vfs::SuperBlock {
    AnonSuperBlock() { type_name = "anon_inodefs"; }
};
AnonSuperBlock g_anon_superblock;
Atomic<u64> g_next_inode{ 1 };

class RingInode final : public vfs::Inode {
public:
    explicit RingInode(Ring& ring)
        : vfs::Inode(g_anon_superblock, g_next_inode.fetch_add(1, MemoryOrder::Relaxed), S_IRUSR | S_IWUSR)
        , m_ring(ring)
    {
        links = 0; // nameless
    }

    Ring& ring() const { return m_ring; }

    Result<void> mmap(vfs::File&, vfs::MmapRequest& request) override
    {
        TRY(m_ring.check_mmap(request.offset, request.length));
        m_ring.ref(); // the caller's reference; the VMA takes its own
        request.backing = &m_ring;
        return {};
    }

    // Linux's io_uring_poll: readable while CQEs are ready, always writable
    // (SQ space is the user's to track).
    u32 poll(vfs::File&) override
    {
        u32 events = POLLOUT | POLLWRNORM;
        if (m_ring.cq_ready())
            events |= POLLIN | POLLRDNORM;
        return events;
    }

    Result<usize> read(vfs::File&, u64, mm::IoIter&, u32) override { return Error::from_errno(EINVAL); }
    Result<usize> write(vfs::File&, u64, mm::IoIter&) override { return Error::from_errno(EINVAL); }
    Result<u64> llseek(vfs::File&, i64, int) override { return Error::from_errno(ESPIPE); }

    void release(vfs::File&) override
    {
        m_ring.teardown();
        m_ring.unref(); // the file's reference
    }

    // The last close dropped the inode (links 0): the filesystem frees it.
    void evict() override { delete this; }

private:
    Ring& m_ring;
};

} // namespace

Result<vfs::File*> open_ring_file(Ring& ring, u32 extra_flags)
{
    auto* inode = new (nothrow) RingInode(ring);
    if (!inode)
        return Error::from_errno(ENOMEM);
    auto* file = new (nothrow) vfs::File;
    if (!file) {
        delete inode;
        return Error::from_errno(ENOMEM);
    }
    file->inode = inode;
    file->flags = O_RDWR | extra_flags;
    inode->open_count = 1;
    return file;
}

bool is_ring_file(const vfs::File& file) { return &file.inode->superblock == &g_anon_superblock; }

Ring& ring_of(const vfs::File& file) { return static_cast<RingInode*>(file.inode)->ring(); }

} // namespace io_uring
