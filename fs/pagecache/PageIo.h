// Building bios from page-cache pages (the generic read_pages/write_pages,
// Linux's mpage.c in spirit) and the bio memory they live in.
//
// A run of pages whose blocks are contiguous on the device becomes one bio
// (one BioVec per page), as large as PageBio::MAX_VECS pages; blk-mq splits
// it further if the device's limits are smaller. A page whose blocks are not
// contiguous (1 KiB ext2 blocks scattered on the disk) or partly holes is
// done in pieces: one vec per block, and a per-page count of pieces in
// flight (Page::private_data) so that the page completes once, after its
// last piece.
#pragma once

#include "fs/pagecache/Mapping.h"
#include "kernel/block/Bio.h"

namespace pagecache {

// A Bio with its vector, in one 2 KiB kmalloc block (or a reserve slot when
// memory is short: writeback must make progress exactly then).
struct PageBio {
    static constexpr usize BYTES = 2048;
    static constexpr usize HEADER_BYTES = sizeof(block::Bio) + 24;
    static constexpr u16 MAX_VECS = (BYTES - HEADER_BYTES) / sizeof(block::BioVec);

    block::Bio bio;
    Mapping* space;
    void* owner; // direct I/O: its request
    u16 count;
    bool from_reserve;
    block::BioVec vecs[MAX_VECS];
};
static_assert(sizeof(PageBio) <= PageBio::BYTES);

// Sleeps for a reserve slot when kmalloc fails and the reserve is empty.
PageBio* alloc_page_bio();
void free_page_bio(PageBio* bio); // any context

// Accumulates (page, offset, length, sector) pieces into bios and submits
// each bio when the next piece is not contiguous or the bio is full.
class BioBuilder {
public:
    BioBuilder(Mapping& space, block::BioOp op) : m_space(space), m_op(op) { }
    ~BioBuilder() { submit(); }
    BioBuilder(const BioBuilder&) = delete;
    BioBuilder& operator=(const BioBuilder&) = delete;

    void add(Page& page, u32 offset, u32 length, u64 sector);
    void submit();

private:
    Mapping& m_space;
    block::BioOp m_op;
    PageBio* m_bio = nullptr;
    u64 m_next_sector = 0;
};

// Piece accounting for pages done in several pieces: begin with the number
// of pieces + 1 (the submitter's bias), end_piece() per piece and once more by
// the submitter; the last call completes the page (read or write).
void begin_pieces(Page& page, u32 pieces);
void end_piece(Page& page, int error, bool write);

void init_page_io();

} // namespace pagecache
