#include "drivers/pci/DmaPool.h"

DmaPool::DmaPool(const char* name, DmaPageSource& source, usize block_size, usize max_pages)
    : m_name(name), m_source(source), m_block_size(block_size), m_max_pages(max_pages)
{
}

DmaPool::~DmaPool()
{
    // All blocks are back (callers free before destroying). Each page's first
    // block is on the free list: collect those, then give the pages back. The
    // first pass reads only memory of pages that are still allocated.
    FreeBlock* page_heads = nullptr;
    FreeBlock* block = m_free;
    while (block) {
        FreeBlock* next = block->next;
        if ((reinterpret_cast<uptr>(block) & (PAGE_SIZE - 1)) == 0) {
            block->next = page_heads;
            page_heads = block;
        }
        block = next;
    }
    while (page_heads) {
        FreeBlock* next = page_heads->next;
        m_source.free_page(DmaBuffer { page_heads, page_heads->phys });
        page_heads = next;
    }
}

bool DmaPool::grow()
{
    if (m_max_pages && m_pages >= m_max_pages)
        return false;
    DmaBuffer page = m_source.alloc_page();
    if (!page)
        return false;
    m_pages++;
    // Push blocks in reverse so allocation walks the page upwards.
    for (usize offset = PAGE_SIZE; offset >= m_block_size; offset -= m_block_size) {
        auto* block = reinterpret_cast<FreeBlock*>(static_cast<u8*>(page.virt) + offset - m_block_size);
        block->phys = page.phys + offset - m_block_size;
        block->next = m_free;
        m_free = block;
    }
    return true;
}

DmaBuffer DmaPool::alloc()
{
    if (!m_free && !grow())
        return {};
    FreeBlock* block = m_free;
    m_free = block->next;
    m_in_use++;
    return DmaBuffer { block, block->phys };
}

void DmaPool::free(DmaBuffer buffer)
{
    auto* block = static_cast<FreeBlock*>(buffer.virt);
    block->phys = buffer.phys;
    block->next = m_free;
    m_free = block;
    m_in_use--;
}
