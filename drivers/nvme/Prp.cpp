#include "drivers/nvme/Prp.h"

namespace nvme {

PrpBuilder::PrpBuilder(DmaPool& pool, PrpDescriptor& out, u32 page_size)
    : m_pool(pool), m_out(out), m_page_size(page_size), m_entries_per_list_page(page_size / sizeof(u64))
{
    m_out = PrpDescriptor {};
}

Result<void> PrpBuilder::add_entry(u64 page_address)
{
    if (m_entry_count == 0) {
        m_pending_entry = page_address;
        m_entry_count = 1;
        return {};
    }
    if (m_entry_count == 1) {
        // A second entry: PRP2 becomes a list pointer, the first entry moves into it.
        if (m_out.list_page_count == MAX_PRP_LIST_PAGES)
            return Error::from_errno(EINVAL);
        DmaBuffer page = m_pool.alloc();
        if (!page)
            return Error::from_errno(ENOMEM);
        m_out.list_pages[m_out.list_page_count++] = page;
        m_list = static_cast<u64*>(page.virt);
        m_list[0] = m_pending_entry;
        m_list_index = 1;
        m_out.prp2 = page.phys;
    } else if (m_list_index == m_entries_per_list_page) {
        // The list page is full: its last entry becomes the pointer to the
        // next list page, and the data entry it held moves there (§4.3).
        if (m_out.list_page_count == MAX_PRP_LIST_PAGES)
            return Error::from_errno(EINVAL);
        DmaBuffer page = m_pool.alloc();
        if (!page)
            return Error::from_errno(ENOMEM);
        m_out.list_pages[m_out.list_page_count++] = page;
        auto* next = static_cast<u64*>(page.virt);
        next[0] = m_list[m_entries_per_list_page - 1];
        m_list[m_entries_per_list_page - 1] = page.phys;
        m_list = next;
        m_list_index = 1;
    }
    m_list[m_list_index++] = page_address;
    m_entry_count++;
    return {};
}

Result<void> PrpBuilder::add_segment(PhysAddr phys, u32 length_bytes)
{
    const u64 page_mask = m_page_size - 1;
    if (length_bytes == 0)
        return Error::from_errno(EINVAL);
    u64 page;
    if (!m_have_first) {
        // PRP1 may carry an offset, but it must be dword aligned (§4.3).
        if (phys & 3)
            return Error::from_errno(EINVAL);
        m_out.prp1 = phys;
        m_have_first = true;
        page = (phys & ~page_mask) + m_page_size;
    } else {
        if (!m_ended_on_page || (phys & page_mask))
            return Error::from_errno(EINVAL);
        page = phys;
    }
    const u64 end = phys + length_bytes;
    for (; page < end; page += m_page_size)
        TRY(add_entry(page));
    m_ended_on_page = (end & page_mask) == 0;
    m_total_bytes += length_bytes;
    return {};
}

void PrpBuilder::finish()
{
    if (m_entry_count == 1)
        m_out.prp2 = m_pending_entry;
    else if (m_entry_count == 0)
        m_out.prp2 = 0;
}

void free_prp_lists(DmaPool& pool, PrpDescriptor& descriptor)
{
    for (u8 i = 0; i < descriptor.list_page_count; i++)
        pool.free(descriptor.list_pages[i]);
    descriptor.list_page_count = 0;
}

} // namespace nvme
