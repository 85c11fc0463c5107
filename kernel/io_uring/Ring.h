// Ring: one io_uring instance (Linux's io_ring_ctx) — the shared SQ and CQ,
// the SQE array, the requests in flight, the registered files and buffers,
// and the worker pool.
//
// Memory: the rings region (RingLayout.h) and the SQE array are kernel pages
// (order 0, one reference each held by the ring) that the process maps
// through the ring fd: Ring is the mm::VmBacking of those mappings. The
// kernel reads SQEs and writes CQEs through the direct map, never through the
// user's addresses, so completions can be posted from an interrupt.
//
// Shared indices: the user writes sq_tail and cq_head, the kernel sq_head and
// cq_tail. Each side publishes its index with a store-release after writing
// the entries, and reads the other's with a load-acquire before reading them.
//
// Locks: m_submit_lock (a mutex, MutexIoUring) serialises submission,
// registration and teardown; the completion side (m_completion, a spinlock,
// IoUringCompletion) covers the CQ tail, the overflow list, the drain list
// and the reap list, and is taken from bio completions.
//
// Lifetime: reference counted. The ring file holds one reference and each
// VMA mapping the ring one more (so the pages outlive close()). Closing the
// file tears the ring down (teardown()): cancels what has not started, waits
// for what is in flight, releases every resource; the memory goes when the
// last mapping goes.
#pragma once

#include "kernel/io_uring/Request.h"
#include "kernel/io_uring/RingLayout.h"
#include "kernel/io_uring/WorkQueue.h"
#include "kernel/lib/Atomic.h"
#include "kernel/mm/VmBacking.h"
#include "kernel/sync/Guarded.h"
#include "kernel/sync/Mutex.h"
#include "kernel/sync/WaitQueue.h"

namespace io_uring {

// What a ring does with a request once issued (Linux's IOU_OK / -EAGAIN punt).
enum class IssueResult : u8 {
    Complete, // request.result is final: post it now
    Async,    // someone else completes it later (device interrupt, page waiter)
    Punt,     // it must block: hand it to the worker pool
};

// How an issue() is called.
enum IssueFlags : u32 {
    ISSUE_NONBLOCK = 1u << 0, // inline from io_uring_enter: must not block
    ISSUE_WORKER = 1u << 1,   // from a worker: may block
};

// A registered buffer (IORING_REGISTER_BUFFERS): its pages stay pinned until
// unregistered.
struct RegisteredBuffer {
    u64 address = 0;
    u64 length = 0;
    Page** pages = nullptr;
    usize page_count = 0;
};

class Ring final : public mm::VmBacking {
public:
    static Result<Ring*> create(const RingSizes& sizes, u32 setup_flags);

    const RingSizes& sizes() const { return m_sizes; }
    u32 setup_flags() const { return m_setup_flags; }

    // --- the mapping (mm::VmBacking) ------------------------------------------
    void ref() override;
    void unref() override;
    u64 size_bytes() const override;
    Result<Page*> get_page(u64 index, bool for_write) override;
    bool is_resident(u64 index) override;
    bool allows_private() const override { return false; }
    // mmap(2) of the ring fd: EINVAL unless `offset` names a region that
    // holds `length` bytes.
    Result<void> check_mmap(u64 offset, usize length) const;

    // --- submission (Submit.cpp) ---------------------------------------------
    // io_uring_enter's submission half: up to `count` SQEs. Returns how many
    // were consumed.
    u32 submit(u32 count);
    // Issue a request on a worker (WorkQueue) or after a drain (may block).
    void issue_from_worker(Request& request);

    // --- completion (Completion.cpp) -------------------------------------------
    // Any context, at most once per request: post its CQE (or skip it), go on
    // with its link chain, release drained requests, wake waiters.
    void complete(Request& request, i32 result);
    // Thread context: release completed requests (files, pinned pages, memory).
    void reap();
    // io_uring_enter's GETEVENTS half: wait until `min_complete` CQEs are
    // ready, `timeout_ns` passed (ETIME) or the task is killed (EINTR).
    Result<void> wait_for_completions(u32 min_complete, u64 timeout_ns, bool has_timeout);
    // CQEs ready for the user now.
    u32 cq_ready() const;

    // --- registration (Register.cpp) ------------------------------------------
    long do_register(u32 opcode, u64 argument, u32 count);

    // The file or registered file `fd` names, with a new reference.
    Result<vfs::File*> lookup_file(i32 fd, bool fixed);
    Result<const RegisteredBuffer*> registered_buffer(u16 index);

    // --- teardown -----------------------------------------------------------
    // The ring file's release: cancel, drain, release everything.
    void teardown();

    WorkQueue& work_queue() { return m_work; }

    // Live rings, for tests that check nothing is left behind.
    static u64 live_count();

private:
    Ring(const RingSizes& sizes, u32 setup_flags);
    ~Ring();

    // The pages of the two regions and the kernel's view of their fields.
    Result<void> allocate_memory();
    void* rings_byte(usize offset) const;
    RingHeader& header() const { return *static_cast<RingHeader*>(rings_byte(0)); }
    uapi::io_uring_cqe& cqe_at(u32 index) const;
    u32& sq_array_at(u32 index) const;
    const uapi::io_uring_sqe& sqe_at(u32 index) const;

    // Submission helpers (Submit.cpp).
    Request* allocate_request();
    Result<void> init_request(Request& request, const uapi::io_uring_sqe& sqe);
    void queue_chain(Request& head);
    void issue(Request& request, u32 issue_flags);
    Result<void> assign_file(Request& request);

    // Completion helpers (Completion.cpp), with m_completion held.
    struct CompletionState;
    bool post_cqe_locked(CompletionState& state, u64 user_data, i32 result, u32 flags);
    void flush_overflow_locked(CompletionState& state);
    void finish_locked(CompletionState& state, Request& request);
    void release_deferred_locked(CompletionState& state);
    void release_request(Request& request);
    void cancel_request(Request& request);

    // Registration helpers (Register.cpp), under m_submit_lock.
    long register_buffers(u64 argument, u32 count);
    long unregister_buffers();
    long register_files(u64 argument, u32 count);
    long unregister_files();
    long register_probe(u64 argument, u32 count);
    void release_registrations();

    RingSizes m_sizes;
    u32 m_setup_flags;
    Atomic<i32> m_refcount{ 1 };

    Page** m_ring_pages = nullptr;
    usize m_ring_page_count = 0;
    Page** m_sqe_pages = nullptr;
    usize m_sqe_page_count = 0;

    Mutex m_submit_lock{ LockRank::MutexIoUring, "io_uring submit" };
    // Under m_submit_lock:
    u32 m_cached_sq_head = 0;
    u64 m_submitted = 0; // requests accepted, for drain sequences
    bool m_drain_disabled = false; // an SQE with CQE_SKIP_SUCCESS was seen
    vfs::File** m_fixed_files = nullptr;
    u32 m_fixed_file_count = 0;
    RegisteredBuffer* m_buffers = nullptr;
    u32 m_buffer_count = 0;
    bool m_dead = false;

    struct CompletionState {
        RequestList overflow; // completed, CQE not yet in the ring (NODROP)
        RequestList deferred; // IOSQE_IO_DRAIN and what is queued behind it
        RequestList reap;     // completed, resources still held
        u64 completed = 0;    // requests completed (CQE posted or skipped)
        u32 cached_cq_tail = 0;
    };
    Guarded<CompletionState> m_completion{ LockRank::IoUringCompletion, "io_uring completion" };

    // Requests allocated and not yet released; teardown waits for 0.
    Atomic<u64> m_requests_alive;
    // Requests using registered buffers: unregistering waits for 0.
    Atomic<u64> m_fixed_buffer_users;
    WaitQueue m_cq_wait;   // GETEVENTS waiters
    WaitQueue m_idle_wait; // teardown: a request was completed

    WorkQueue m_work{ *this };

    friend class WorkQueue;
};

} // namespace io_uring
