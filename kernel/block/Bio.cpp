#include "kernel/block/Bio.h"

namespace block {

void bio_init(Bio& bio, BioOp op, u64 sector, const BioVec* vecs, u16 count)
{
    bio.op = op;
    bio.vecs = vecs;
    bio.vec_count = count;
    bio.iter = BioIter {};
    bio.iter.sector = sector;
    for (u16 i = 0; i < count; i++)
        bio.iter.size_bytes += vecs[i].length;
    bio.status = 0;
    bio.next = nullptr;
    bio.parent = nullptr;
    bio.pending_children.store(0, MemoryOrder::Relaxed);
}

void bio_iter_advance(BioIter& iter, const BioVec* vecs, u32 bytes)
{
    iter.sector += bytes >> SECTOR_SHIFT;
    iter.size_bytes -= bytes;
    while (bytes) {
        const u32 left_in_vec = vecs[iter.index].length - iter.done_bytes;
        if (bytes < left_in_vec) {
            iter.done_bytes += bytes;
            return;
        }
        bytes -= left_in_vec;
        iter.index++;
        iter.done_bytes = 0;
    }
}

} // namespace block
