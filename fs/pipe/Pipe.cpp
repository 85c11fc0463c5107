#include "fs/pipe/Pipe.h"

#include "arch/x86_64/mm/UserCopy.h"
#include "fs/vfs/FileApi.h"
#include "kernel/lib/Atomic.h"
#include "kernel/lib/RestartErrno.h"
#include "kernel/lib/String.h"
#include "kernel/mm/Heap.h"
#include "kernel/sync/WaitQueue.h"
#include "uapi/ioctl.h"

namespace pipe {
namespace {

void (*g_broken_pipe)() = nullptr;

struct PipeSuperBlock final : vfs::SuperBlock {
    PipeSuperBlock() { type_name = "pipefs"; }
    void stats(vfs::FsStats& out) override
    {
        out.magic = 0x50495045; // PIPEFS_MAGIC
        out.block_size = PAGE_SIZE;
    }
};

PipeSuperBlock g_superblock;
u64 g_next_number = 1; // under the namespace mutex (create takes it)

class PipeInode final : public vfs::Inode {
public:
    PipeInode(u64 number, u8* ring)
        : Inode(g_superblock, number, S_IFIFO | 0600)
        , m_ring(ring)
    {
        links = 0;
    }
    ~PipeInode() override { kfree(m_ring); }

    Result<usize> read(vfs::File& file, u64, mm::IoIter& buffer, u32) override
    {
        if (buffer.count() == 0)
            return 0ul;
        for (;;) {
            {
                MutexGuard guard(m_lock);
                if (m_count.load(MemoryOrder::Relaxed) > 0)
                    return take(buffer);
                if (m_writers.load(MemoryOrder::Relaxed) == 0)
                    return 0ul;
                if (file.flags & O_NONBLOCK)
                    return Error::from_errno(EAGAIN);
            }
            TRY(sleep(m_readable, [&] { return m_count.load(MemoryOrder::Acquire) > 0 || m_writers.load(MemoryOrder::Acquire) == 0; }));
        }
    }

    // Linux's pipe_write: the part of the write past a whole number of pages
    // (total % PAGE_SIZE) is first merged into the last buffer if it fits
    // there; the rest fills free buffers a page at a time. A write of at
    // most PIPE_BUF bytes thus lands whole (merged, or in one free buffer).
    Result<usize> write(vfs::File& file, u64, mm::IoIter& buffer) override
    {
        const usize total = buffer.count();
        if (total == 0)
            return 0ul;
        usize done = 0;
        bool first = true;
        for (;;) {
            {
                MutexGuard guard(m_lock);
                if (m_readers.load(MemoryOrder::Relaxed) == 0) {
                    if (g_broken_pipe)
                        g_broken_pipe();
                    return done ? Result<usize>(done) : Result<usize>(Error::from_errno(EPIPE));
                }
                if (first) {
                    first = false;
                    const usize tail_bytes = total % PAGE_SIZE;
                    if (tail_bytes && m_used > 0) {
                        Slot& last = m_slots[(m_first + m_used - 1) % SLOTS];
                        if (last.offset + last.length + tail_bytes <= PAGE_SIZE) {
                            const usize copied
                                = buffer.copy_from(slot_data(m_first + m_used - 1) + last.offset + last.length, tail_bytes);
                            last.length += static_cast<u32>(copied);
                            added(copied);
                            done += copied;
                            if (copied < tail_bytes)
                                return done ? Result<usize>(done) : Result<usize>(Error::from_errno(EFAULT));
                            if (buffer.count() == 0)
                                return done;
                        }
                    }
                }
                while (m_used < SLOTS && buffer.count() > 0) {
                    const usize index = m_first + m_used;
                    const usize want = min(buffer.count(), PAGE_SIZE);
                    const usize copied = buffer.copy_from(slot_data(index), want);
                    if (copied == 0)
                        return done ? Result<usize>(done) : Result<usize>(Error::from_errno(EFAULT));
                    m_slots[index % SLOTS] = { 0, static_cast<u32>(copied) };
                    m_used++;
                    added(copied);
                    done += copied;
                    if (copied < want)
                        return done; // the caller's buffer faulted
                }
                if (buffer.count() == 0)
                    return done;
                if (file.flags & O_NONBLOCK)
                    return done ? Result<usize>(done) : Result<usize>(Error::from_errno(EAGAIN));
            }
            auto slept = sleep(m_writable, [&] { return !full() || m_readers.load(MemoryOrder::Acquire) == 0; });
            if (slept.is_error())
                return done ? Result<usize>(done) : Result<usize>(slept.error());
        }
    }

    u32 poll(vfs::File& file) override
    {
        MutexGuard guard(m_lock);
        u32 events = 0;
        if ((file.flags & O_ACCMODE) != O_WRONLY) {
            if (m_count.load(MemoryOrder::Relaxed) > 0)
                events |= POLLIN | POLLRDNORM;
            if (m_writers.load(MemoryOrder::Relaxed) == 0)
                events |= POLLHUP;
        }
        if ((file.flags & O_ACCMODE) != O_RDONLY) {
            if (!full())
                events |= POLLOUT | POLLWRNORM;
            if (m_readers.load(MemoryOrder::Relaxed) == 0)
                events |= POLLERR;
        }
        return events;
    }

    Result<long> ioctl(vfs::File&, u32 request, unsigned long argument) override
    {
        if (request != FIONREAD)
            return Error::from_errno(ENOTTY);
        int queued;
        {
            MutexGuard guard(m_lock);
            queued = static_cast<int>(m_count.load(MemoryOrder::Relaxed));
        }
        TRY(user::copy_to_user(reinterpret_cast<void*>(argument), &queued, sizeof queued));
        return 0l;
    }

    Result<u64> llseek(vfs::File&, i64, int) override { return Error::from_errno(ESPIPE); }

    void release(vfs::File& file) override
    {
        MutexGuard guard(m_lock);
        Atomic<u32>& ends = (file.flags & O_ACCMODE) == O_RDONLY ? m_readers : m_writers;
        ends.store(ends.load(MemoryOrder::Relaxed) - 1, MemoryOrder::Release);
        m_readable.wake_all();
        m_writable.wake_all();
    }

    // The last end closed (no links, nothing open): nothing else can reach it.
    void evict() override { delete this; }

    void opened(bool reader)
    {
        MutexGuard guard(m_lock);
        Atomic<u32>& ends = reader ? m_readers : m_writers;
        ends.store(ends.load(MemoryOrder::Relaxed) + 1, MemoryOrder::Release);
    }

private:
    // The ring: SLOTS page-sized buffers, each holding [offset, offset + length).
    static constexpr usize SLOTS = CAPACITY / PAGE_SIZE;
    struct Slot {
        u32 offset;
        u32 length;
    };
    u8* slot_data(usize index) const { return m_ring + (index % SLOTS) * PAGE_SIZE; }
    bool full() const { return m_used_published.load(MemoryOrder::Acquire) == SLOTS; }

    void added(usize bytes)
    {
        m_count.store(m_count.load(MemoryOrder::Relaxed) + bytes, MemoryOrder::Release);
        m_used_published.store(m_used, MemoryOrder::Release);
        m_readable.wake_all();
    }

    // Move queued bytes to `buffer` (under m_lock); EFAULT if none could be copied.
    Result<usize> take(mm::IoIter& buffer)
    {
        usize done = 0;
        while (m_used > 0 && buffer.count() > 0) {
            Slot& slot = m_slots[m_first % SLOTS];
            const usize want = min<usize>(slot.length, buffer.count());
            const usize copied = buffer.copy_to(slot_data(m_first) + slot.offset, want);
            slot.offset += static_cast<u32>(copied);
            slot.length -= static_cast<u32>(copied);
            done += copied;
            if (slot.length == 0) {
                m_first = (m_first + 1) % SLOTS;
                m_used--;
            }
            if (copied < want)
                break; // the caller's buffer faulted
        }
        m_count.store(m_count.load(MemoryOrder::Relaxed) - done, MemoryOrder::Release);
        m_used_published.store(m_used, MemoryOrder::Release);
        m_writable.wake_all();
        if (done == 0)
            return Error::from_errno(EFAULT);
        return done;
    }

    // Sleep (without m_lock) until `ready` or a signal is pending
    // (-ERESTARTSYS, which the signal layer turns into EINTR or a restart).
    // `ready` reads the atomics the lock holder publishes; the caller tests
    // again under the lock.
    template <typename Ready>
    Result<void> sleep(WaitQueue& queue, Ready ready)
    {
        if (wait_event_interruptible(queue, ready) != 0)
            return Error::from_errno(ERESTARTSYS);
        return {};
    }

    Mutex m_lock{ LockRank::MutexFilesystem, "pipe" };
    WaitQueue m_readable;
    WaitQueue m_writable;
    u8* m_ring;
    Slot m_slots[SLOTS] = {};    // under m_lock
    usize m_first = 0;           // the oldest buffer, under m_lock
    usize m_used = 0;            // buffers in use, under m_lock
    Atomic<usize> m_used_published{ 0 }; // m_used for lock-free readers
    Atomic<usize> m_count{ 0 };  // bytes queued, written under m_lock
    Atomic<u32> m_readers{ 0 };  // written under m_lock
    Atomic<u32> m_writers{ 0 };
};

} // namespace

void set_broken_pipe_hook(void (*hook)()) { g_broken_pipe = hook; }

Result<Ends> create(u32 flags)
{
    auto* ring = static_cast<u8*>(kmalloc(CAPACITY));
    if (!ring)
        return Error::from_errno(ENOMEM);
    u64 number;
    {
        MutexGuard guard(vfs::namespace_lock());
        number = g_next_number++;
    }
    auto* inode = new PipeInode(number, ring);
    if (!inode) {
        kfree(ring);
        return Error::from_errno(ENOMEM);
    }
    inode->opened(true);
    inode->opened(false);
    auto read_end = vfs::open_inode(*inode, O_RDONLY | flags);
    if (read_end.is_error()) {
        delete inode;
        return read_end.error();
    }
    auto write_end = vfs::open_inode(*inode, O_WRONLY | flags);
    if (write_end.is_error()) {
        (void)vfs::close(read_end.value()); // the last end: frees the inode
        return write_end.error();
    }
    return Ends{ read_end.value(), write_end.value() };
}

} // namespace pipe
