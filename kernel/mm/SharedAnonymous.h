// Shared anonymous memory (mmap MAP_SHARED|MAP_ANONYMOUS): zero-filled pages
// that every mapping of the object sees, across fork. Linux backs it with a
// shmem file; here it is a VmBacking holding its pages in a radix tree by
// index, allocated zeroed on first touch and freed with the last reference.
#pragma once

#include "kernel/lib/Atomic.h"
#include "kernel/lib/RadixTree.h"
#include "kernel/mm/VmBacking.h"
#include "kernel/sync/SpinLock.h"

namespace mm {

class SharedAnonymous final : public VmBacking {
public:
    // One reference for the caller.
    static Result<SharedAnonymous*> create(u64 size_bytes);

    void ref() override;
    void unref() override;
    u64 size_bytes() const override { return m_size_bytes; }
    Result<Page*> get_page(u64 index, bool for_write) override;
    bool is_resident(u64 index) override;

    // Objects alive (tests: back to the start value after teardown).
    static u64 live_count();

private:
    explicit SharedAnonymous(u64 size_bytes);
    ~SharedAnonymous();

    SpinLock m_lock{LockRank::Generic, "shared anonymous"};
    RadixTree m_pages; // guarded by m_lock; each page holds one reference for the tree
    u64 m_size_bytes;
    Atomic<i32> m_refcount{1};
};

} // namespace mm
