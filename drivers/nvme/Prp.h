// Physical Region Page lists: how an NVMe command describes its data buffer
// (1.4 §4.3, "Physical Region Page Entry and List").
//
//   PRP1 points at the first byte (any dword-aligned offset in a memory page).
//   If the transfer ends within the next page, PRP2 is that page's address.
//   Otherwise PRP2 points at a PRP list: one 8-byte entry per following page;
//   when a list page fills, its last entry points at the next list page.
//
// Consequently every segment but the first must start on a memory-page
// boundary and every segment but the last must end on one: the block layer
// guarantees this with the queue's virt_boundary (kernel/block/Limits.h), so
// a violation here is a bug upstream and is reported as EINVAL.
#pragma once

#include "drivers/pci/DmaPool.h"
#include "kernel/lib/Result.h"
#include "kernel/lib/Types.h"

namespace nvme {

// 4 list pages of 511 data entries each (plus PRP1) cover > 8 MiB with 4 KiB
// pages; MDTS keeps real transfers far below that (QEMU: 512 KiB).
constexpr usize MAX_PRP_LIST_PAGES = 4;

struct PrpDescriptor {
    u64 prp1 = 0;
    u64 prp2 = 0;
    u8 list_page_count = 0;
    DmaBuffer list_pages[MAX_PRP_LIST_PAGES];
};

class PrpBuilder {
public:
    // The pool's blocks must be `page_size` bytes (one list page each).
    PrpBuilder(DmaPool& pool, PrpDescriptor& out, u32 page_size = PAGE_SIZE);

    // Append the next physically contiguous piece of the buffer.
    Result<void> add_segment(PhysAddr phys, u32 length_bytes);
    // Completes PRP2. The descriptor's list pages belong to the caller until
    // free_prp_lists().
    void finish();
    u32 total_bytes() const { return m_total_bytes; }

private:
    Result<void> add_entry(u64 page_address);

    DmaPool& m_pool;
    PrpDescriptor& m_out;
    u32 m_page_size;
    u32 m_entries_per_list_page;
    u32 m_total_bytes = 0;
    u32 m_entry_count = 0; // data entries after PRP1
    u64 m_pending_entry = 0; // the only entry so far: becomes PRP2 if no list is needed
    u64* m_list = nullptr;   // current list page
    u32 m_list_index = 0;
    bool m_have_first = false;
    bool m_ended_on_page = false;
};

// Return a descriptor's list pages to the pool (on completion, or on an error
// after building).
void free_prp_lists(DmaPool& pool, PrpDescriptor& descriptor);

} // namespace nvme
