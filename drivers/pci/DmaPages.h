// Pages for DMA pools from the kernel's page allocator (zeroed, direct-mapped).
#pragma once

#include "drivers/pci/DmaPool.h"

DmaPageSource& kernel_dma_pages();

// Physically contiguous, zeroed DMA memory of 2^order pages (queue rings,
// identify buffers). Empty on failure.
DmaBuffer alloc_dma_pages(unsigned order);
void free_dma_pages(DmaBuffer buffer, unsigned order);
