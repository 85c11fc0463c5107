// Pages for DMA pools from the kernel's page allocator (zeroed, direct-mapped).
#pragma once

#include "drivers/pci/DmaPool.h"
#include "kernel/lib/Utility.h"

DmaPageSource& kernel_dma_pages();

// Physically contiguous, zeroed DMA memory of 2^order pages (queue rings,
// identify buffers). Empty on failure.
DmaBuffer alloc_dma_pages(unsigned order);
void free_dma_pages(DmaBuffer buffer, unsigned order);

// The single owner of a 2^order block of DMA pages (rings, identify buffers):
// freed when it goes out of scope, so a factory that fails part-way gives
// back what it allocated. Move-only; empty when the allocation failed.
class DmaPages {
public:
    DmaPages() = default;
    static DmaPages allocate(unsigned order) { return DmaPages(alloc_dma_pages(order), order); }
    DmaPages(DmaPages&& other) : m_buffer(kstd::exchange(other.m_buffer, DmaBuffer {})), m_order(other.m_order) { }
    DmaPages& operator=(DmaPages&& other)
    {
        if (this != &other) {
            free_dma_pages(m_buffer, m_order);
            m_buffer = kstd::exchange(other.m_buffer, DmaBuffer {});
            m_order = other.m_order;
        }
        return *this;
    }
    DmaPages(const DmaPages&) = delete;
    DmaPages& operator=(const DmaPages&) = delete;
    ~DmaPages() { free_dma_pages(m_buffer, m_order); }

    explicit operator bool() const { return static_cast<bool>(m_buffer); }
    const DmaBuffer& buffer() const { return m_buffer; }
    void* virt() const { return m_buffer.virt; }
    PhysAddr phys() const { return m_buffer.phys; }
    unsigned order() const { return m_order; }

private:
    DmaPages(DmaBuffer buffer, unsigned order) : m_buffer(buffer), m_order(order) { }
    DmaBuffer m_buffer;
    unsigned m_order = 0;
};
