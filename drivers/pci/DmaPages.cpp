#include "drivers/pci/DmaPages.h"

#include "kernel/mm/DirectMap.h"
#include "kernel/mm/PageAllocator.h"

namespace {

class KernelDmaPages final : public DmaPageSource {
public:
    DmaBuffer alloc_page() override { return alloc_dma_pages(0); }
    void free_page(DmaBuffer page) override { free_dma_pages(page, 0); }
};

KernelDmaPages g_pages;

} // namespace

DmaPageSource& kernel_dma_pages() { return g_pages; }

DmaBuffer alloc_dma_pages(unsigned order)
{
    Page* page = mm::alloc_pages(order, mm::ALLOC_ZERO);
    if (!page)
        return {};
    return DmaBuffer {mm::page_address(page), mm::page_to_phys(page)};
}

void free_dma_pages(DmaBuffer buffer, unsigned order)
{
    if (buffer)
        mm::free_pages(mm::phys_to_page(buffer.phys), order);
}
