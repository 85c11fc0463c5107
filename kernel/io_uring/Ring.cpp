// The ring object: its memory and mapping, file lookups, teardown.
#include "kernel/io_uring/Ring.h"

#include "fs/vfs/FileApi.h"
#include "kernel/mm/Heap.h"
#include "kernel/mm/PageAllocator.h"
#include "kernel/mm/PageRef.h"
#include "kernel/proc/Current.h"
#include "kernel/proc/Process.h"

namespace io_uring {
namespace {

Atomic<u64> g_live_rings;

constexpr u64 CQ_RING_PAGE = IORING_OFF_CQ_RING >> PAGE_SHIFT;
constexpr u64 SQES_PAGE = IORING_OFF_SQES >> PAGE_SHIFT;

usize pages_for(usize bytes) { return (bytes + PAGE_SIZE - 1) >> PAGE_SHIFT; }

Page** allocate_pages(usize count)
{
    auto** pages = static_cast<Page**>(kzalloc(count * sizeof(Page*)));
    if (!pages)
        return nullptr;
    for (usize i = 0; i < count; i++) {
        pages[i] = mm::alloc_page(mm::ALLOC_ZERO); // its reference is the ring's
        if (!pages[i]) {
            for (usize j = 0; j < i; j++)
                mm::put_page_ref(*pages[j]);
            kfree(pages);
            return nullptr;
        }
    }
    return pages;
}

void free_pages(Page** pages, usize count)
{
    if (!pages)
        return;
    for (usize i = 0; i < count; i++)
        mm::put_page_ref(*pages[i]); // a mapping may still hold its own
    kfree(pages);
}

} // namespace

Ring::Ring(const RingSizes& sizes, u32 setup_flags) : m_sizes(sizes), m_setup_flags(setup_flags)
{
    g_live_rings.fetch_add(1, MemoryOrder::Relaxed);
}

Ring::~Ring()
{
    free_pages(m_ring_pages, m_ring_page_count);
    free_pages(m_sqe_pages, m_sqe_page_count);
    g_live_rings.fetch_sub(1, MemoryOrder::Relaxed);
}

u64 Ring::live_count() { return g_live_rings.load(MemoryOrder::Relaxed); }

Result<Ring*> Ring::create(const RingSizes& sizes, u32 setup_flags)
{
    auto* ring = new (nothrow) Ring(sizes, setup_flags);
    if (!ring)
        return Error::from_errno(ENOMEM);
    if (auto allocated = ring->allocate_memory(); allocated.is_error()) {
        ring->unref();
        return allocated.error();
    }
    return ring;
}

Result<void> Ring::allocate_memory()
{
    m_ring_page_count = pages_for(rings_bytes(m_sizes));
    m_ring_pages = allocate_pages(m_ring_page_count);
    if (!m_ring_pages)
        return Error::from_errno(ENOMEM);
    m_sqe_page_count = pages_for(sqes_bytes(m_sizes));
    m_sqe_pages = allocate_pages(m_sqe_page_count);
    if (!m_sqe_pages)
        return Error::from_errno(ENOMEM);
    RingHeader& h = header();
    h.sq_ring_mask = m_sizes.sq_entries - 1;
    h.cq_ring_mask = m_sizes.cq_entries - 1;
    h.sq_ring_entries = m_sizes.sq_entries;
    h.cq_ring_entries = m_sizes.cq_entries;
    return {};
}

// Entries never straddle a page: every entry size is a power of two no larger
// than a page and each array starts cache-line aligned.
void* Ring::rings_byte(usize offset) const
{
    return static_cast<u8*>(mm::page_address(m_ring_pages[offset >> PAGE_SHIFT])) + (offset & (PAGE_SIZE - 1));
}

uapi::io_uring_cqe& Ring::cqe_at(u32 index) const
{
    return *static_cast<uapi::io_uring_cqe*>(rings_byte(CQES_OFFSET + usize(index) * sizeof(uapi::io_uring_cqe)));
}

u32& Ring::sq_array_at(u32 index) const
{
    return *static_cast<u32*>(rings_byte(sq_array_offset(m_sizes.cq_entries) + usize(index) * sizeof(u32)));
}

const uapi::io_uring_sqe& Ring::sqe_at(u32 index) const
{
    const usize offset = usize(index) * sizeof(uapi::io_uring_sqe);
    const u8* page = static_cast<const u8*>(mm::page_address(m_sqe_pages[offset >> PAGE_SHIFT]));
    return *reinterpret_cast<const uapi::io_uring_sqe*>(page + (offset & (PAGE_SIZE - 1)));
}

// --- the mapping ----------------------------------------------------------------

void Ring::ref() { m_refcount.fetch_add(1, MemoryOrder::Relaxed); }

void Ring::unref()
{
    if (m_refcount.sub_fetch(1, MemoryOrder::AcqRel) == 0)
        delete this;
}

u64 Ring::size_bytes() const { return IORING_OFF_SQES + (u64(m_sqe_page_count) << PAGE_SHIFT); }

Result<Page*> Ring::get_page(u64 index, bool)
{
    Page* page = nullptr;
    if (index < CQ_RING_PAGE) {
        if (index < m_ring_page_count)
            page = m_ring_pages[index];
    } else if (index < SQES_PAGE) {
        if (index - CQ_RING_PAGE < m_ring_page_count)
            page = m_ring_pages[index - CQ_RING_PAGE];
    } else if (index - SQES_PAGE < m_sqe_page_count) {
        page = m_sqe_pages[index - SQES_PAGE];
    }
    if (!page)
        return Error::from_errno(ENXIO);
    mm::get_page_ref(*page);
    return page;
}

bool Ring::is_resident(u64 index)
{
    auto page = get_page(index, false);
    if (page.is_error())
        return false;
    mm::put_page_ref(*page.value());
    return true;
}

Result<void> Ring::check_mmap(u64 offset, usize length) const
{
    usize region_pages;
    if (offset == IORING_OFF_SQ_RING || offset == IORING_OFF_CQ_RING)
        region_pages = m_ring_page_count;
    else if (offset == IORING_OFF_SQES)
        region_pages = m_sqe_page_count;
    else
        return Error::from_errno(EINVAL);
    if (length > (region_pages << PAGE_SHIFT))
        return Error::from_errno(EINVAL);
    return {};
}

// --- files and buffers --------------------------------------------------------------

Result<vfs::File*> Ring::lookup_file(i32 fd, bool fixed)
{
    if (fixed) {
        if (fd < 0 || u32(fd) >= m_fixed_file_count || !m_fixed_files[fd])
            return Error::from_errno(EBADF);
        return vfs::file_get(*m_fixed_files[fd]);
    }
    return proc::current_process()->files->table.get(fd);
}

Result<const RegisteredBuffer*> Ring::registered_buffer(u16 index)
{
    if (index >= m_buffer_count)
        return Error::from_errno(EFAULT);
    return &m_buffers[index];
}

// --- teardown ---------------------------------------------------------------------

void Ring::teardown()
{
    {
        MutexGuard guard(m_submit_lock);
        m_dead = true;
    }
    // Requests waiting behind a drain never started: cancel them.
    for (;;) {
        Request* request = m_completion.with([](CompletionState& s) { return s.deferred.pop_front(); });
        if (!request)
            break;
        cancel_request(*request);
    }
    // Work not yet started is cancelled; what a device, a worker or a page
    // waiter holds finishes on its own (a parked read is retried by a worker
    // once its page arrives), so the workers stay until nothing is alive.
    m_work.cancel_pending();
    for (;;) {
        // Nobody will read the CQ any more: overflowed CQEs are dropped.
        m_completion.with([](CompletionState& s) { s.reap.splice_back(s.overflow); });
        reap();
        if (m_requests_alive.load(MemoryOrder::Acquire) == 0)
            break;
        wait_event(m_idle_wait, [&] {
            return m_requests_alive.load(MemoryOrder::Acquire) == 0
                || m_completion.with([](CompletionState& s) { return !s.reap.is_empty() || !s.overflow.is_empty(); });
        });
    }
    m_work.stop();
    MutexGuard guard(m_submit_lock);
    release_registrations();
}

} // namespace io_uring
