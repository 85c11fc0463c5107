// A pool of small, fixed-size, DMA-able blocks carved out of pages (NVMe PRP
// lists, virtio indirect descriptor tables), like Linux's dma_pool.
//
// Blocks never cross a page boundary (block_size divides PAGE_SIZE), so a
// block is physically contiguous. A free block stores the free-list link in
// its own memory. The pool takes no lock: its owner serialises alloc and
// free (the NVMe queue uses one lock for both). Freeing never allocates, so it
// is safe on the completion path.
#pragma once

#include "kernel/lib/Types.h"

struct DmaBuffer {
    void* virt = nullptr;
    PhysAddr phys = 0;

    explicit operator bool() const { return virt != nullptr; }
};

// Where the pool's pages come from: the page allocator in the kernel, a fake
// in host tests.
class DmaPageSource {
public:
    virtual DmaBuffer alloc_page() = 0;
    virtual void free_page(DmaBuffer page) = 0;

protected:
    ~DmaPageSource() = default;
};

class DmaPool {
public:
    // `block_size` is a power of two, 16..PAGE_SIZE. `max_pages` caps the
    // memory the pool may hold (0 = no cap).
    DmaPool(const char* name, DmaPageSource& source, usize block_size, usize max_pages = 0);
    ~DmaPool();
    DmaPool(const DmaPool&) = delete;
    DmaPool& operator=(const DmaPool&) = delete;

    // Returns an empty DmaBuffer when the pool is capped or out of pages.
    DmaBuffer alloc();
    void free(DmaBuffer block);

    const char* name() const { return m_name; }
    usize block_size() const { return m_block_size; }
    u64 blocks_in_use() const { return m_in_use; }
    u64 pages() const { return m_pages; }

private:
    struct FreeBlock {
        FreeBlock* next;
        PhysAddr phys;
    };
    bool grow();

    const char* m_name;
    DmaPageSource& m_source;
    usize m_block_size;
    usize m_max_pages;
    FreeBlock* m_free = nullptr;
    u64 m_in_use = 0;
    u64 m_pages = 0;
};
