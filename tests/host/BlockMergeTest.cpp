// kernel/block: bio validation, splitting to the queue limits, plug merges.
#include <gtest/gtest.h>

#include <vector>

#include "kernel/block/Bio.h"
#include "kernel/block/Limits.h"
#include "kernel/block/Request.h"
#include "uapi/errno.h"

using namespace block;

namespace {

QueueLimits nvme_like()
{
    QueueLimits l;
    l.logical_block_size = 512;
    l.max_hw_sectors = 1024; // 512 KiB (QEMU NVMe MDTS 7)
    l.max_segments = 129; // as Linux sets for NVMe: max transfer in pages + 1
    l.max_segment_size = 1u << 30;
    l.virt_boundary_mask = PAGE_SIZE - 1;
    l.dma_alignment_mask = 3;
    return l;
}

// A Bio is not copyable (its split-children count is atomic): tests build
// one in place and use it as a Bio.
struct TestBio : Bio {
    TestBio(const std::vector<BioVec>& vecs, u64 sector, BioOp op)
    {
        bio_init(*this, op, sector, vecs.data(), static_cast<u16>(vecs.size()));
    }
};

TestBio make_bio(const std::vector<BioVec>& vecs, u64 sector, BioOp op = BioOp::Read)
{
    return TestBio(vecs, sector, op);
}

// `count` page-sized pieces; the first starts `first_offset` into its page.
std::vector<BioVec> pages(u32 count, u32 first_offset = 0)
{
    std::vector<BioVec> v;
    for (u32 i = 0; i < count; i++)
        v.push_back(i == 0 ? BioVec {nullptr, first_offset, static_cast<u32>(PAGE_SIZE) - first_offset}
                           : BioVec {nullptr, 0, static_cast<u32>(PAGE_SIZE)});
    return v;
}

} // namespace

TEST(BlockLimits, ValidationRejectsMisalignedAndOutOfRange)
{
    QueueLimits l = nvme_like();
    std::vector<BioVec> one = {{nullptr, 0, 4096}};
    TestBio ok = make_bio(one, 8);
    EXPECT_EQ(validate_bio(ok, l, 1000), 0);
    // Beyond the end: EIO (like Linux's bio_check_eod).
    EXPECT_EQ(validate_bio(make_bio(one, 996), l, 1000), EIO);
    EXPECT_EQ(validate_bio(make_bio(one, 1000), l, 1000), EIO);
    EXPECT_EQ(validate_bio(make_bio(one, 992), l, 1000), 0);
    // Length not a multiple of the logical block size.
    std::vector<BioVec> odd = {{nullptr, 0, 1000}};
    EXPECT_EQ(validate_bio(make_bio(odd, 0), l, 1000), EINVAL);
    // 4 KiB logical blocks: sector must be 8-aligned.
    QueueLimits l4k = l;
    l4k.logical_block_size = 4096;
    EXPECT_EQ(validate_bio(make_bio(one, 4), l4k, 1000), EINVAL);
    EXPECT_EQ(validate_bio(make_bio(one, 8), l4k, 1000), 0);
    // Memory not aligned for DMA.
    std::vector<BioVec> unaligned = {{nullptr, 2, 512}};
    EXPECT_EQ(validate_bio(make_bio(unaligned, 0), l, 1000), EINVAL);
    // Empty data bio.
    EXPECT_EQ(validate_bio(make_bio({}, 0), l, 1000), EINVAL);
    // Flush carries no data.
    TestBio flush = make_bio({}, 0, BioOp::Flush);
    EXPECT_EQ(validate_bio(flush, l, 1000), 0);
}

TEST(BlockLimits, SplitAtMaxTransfer)
{
    QueueLimits l = nvme_like();
    auto v = pages(300); // 1.2 MB
    TestBio bio = make_bio(v, 0);
    EXPECT_EQ(split_point_bytes(bio, l), 512u * 1024);
    bio_iter_advance(bio.iter, bio.vecs, 512 * 1024);
    EXPECT_EQ(bio.sector(), 1024u);
    EXPECT_EQ(split_point_bytes(bio, l), 512u * 1024);
    bio_iter_advance(bio.iter, bio.vecs, 512 * 1024);
    EXPECT_EQ(split_point_bytes(bio, l), 44u * 4096);
}

TEST(BlockLimits, SplitWithAnOffsetCutsInsideAPage)
{
    QueueLimits l = nvme_like();
    // Starts 512 bytes into a page: the 512 KiB cut lands mid-page, which is
    // fine (it is the last segment of one request, the first of the next).
    auto v = pages(200, 512);
    TestBio bio = make_bio(v, 0);
    const u32 first = split_point_bytes(bio, l);
    EXPECT_EQ(first, 512u * 1024);
    bio_iter_advance(bio.iter, bio.vecs, first);
    EXPECT_EQ(bio.iter.done_bytes % 512, 0u);
    EXPECT_EQ(split_point_bytes(bio, l), bio.size_bytes());
}

TEST(BlockLimits, SplitAtVirtBoundaryGaps)
{
    QueueLimits l = nvme_like();
    // 2 KiB at the end of one page, then a page, then 1 KiB at the start of
    // a page, then a piece with an offset: the last one must start a new request.
    std::vector<BioVec> v = {{nullptr, 2048, 2048}, {nullptr, 0, 4096}, {nullptr, 0, 1024}, {nullptr, 512, 1024}};
    TestBio bio = make_bio(v, 0);
    EXPECT_EQ(split_point_bytes(bio, l), 2048u + 4096 + 1024);
    QueueLimits virtio_like = l;
    virtio_like.virt_boundary_mask = 0;
    EXPECT_EQ(split_point_bytes(bio, virtio_like), bio.size_bytes());
}

TEST(BlockLimits, SplitAtMaxSegmentsAndSegmentSize)
{
    QueueLimits l = nvme_like();
    l.max_segments = 4;
    auto v = pages(10);
    TestBio bio = make_bio(v, 0);
    EXPECT_EQ(split_point_bytes(bio, l), 4u * 4096);
    EXPECT_EQ(bio_segment_count(bio, l), 10u);

    QueueLimits small_segments;
    small_segments.max_segment_size = 1024;
    small_segments.max_segments = 3;
    std::vector<BioVec> big = {{nullptr, 0, 8192}};
    TestBio b2 = make_bio(big, 0);
    EXPECT_EQ(bio_segment_count(b2, small_segments), 8u);
    EXPECT_EQ(split_point_bytes(b2, small_segments), 3072u);
}

TEST(BlockMerge, ContiguousBiosMergeBackAndFront)
{
    QueueLimits l = nvme_like();
    auto va = pages(2), vb = pages(2), vc = pages(1);
    TestBio a = make_bio(va, 100), b = make_bio(vb, 116), c = make_bio(vc, 92);
    Request r;
    request_init_from_bio(r, a, l);
    EXPECT_EQ(r.state.load(MemoryOrder::Relaxed), RequestState::Building);
    ASSERT_EQ(merge_kind(r, b, l), MergeKind::Back);
    request_merge_bio(r, b, MergeKind::Back, l);
    ASSERT_EQ(merge_kind(r, c, l), MergeKind::Front);
    request_merge_bio(r, c, MergeKind::Front, l);
    EXPECT_EQ(r.sector, 92u);
    EXPECT_EQ(r.size_bytes, 5u * 4096);
    EXPECT_EQ(r.segment_count, 5);
    EXPECT_EQ(r.bio_head, &c);
    EXPECT_EQ(c.next, &a);
    EXPECT_EQ(a.next, &b);
    EXPECT_EQ(r.bio_tail, &b);
    EXPECT_EQ(b.next, nullptr);
}

TEST(BlockMerge, RefusesWhatWouldBreakTheRules)
{
    QueueLimits l = nvme_like();
    auto va = pages(1), vb = pages(1);
    TestBio a = make_bio(va, 0), b = make_bio(vb, 8);
    Request r;
    request_init_from_bio(r, a, l);

    TestBio gap = make_bio(vb, 16); // not adjacent
    EXPECT_EQ(merge_kind(r, gap, l), MergeKind::None);
    TestBio write = make_bio(vb, 8, BioOp::Write);
    EXPECT_EQ(merge_kind(r, write, l), MergeKind::None);
    b.flags = BIO_FUA;
    EXPECT_EQ(merge_kind(r, b, l), MergeKind::None);
    b.flags = 0;
    // Virt boundary: a bio that ends mid-page cannot be followed.
    std::vector<BioVec> half = {{nullptr, 0, 2048}};
    TestBio h = make_bio(half, 0);
    Request rh;
    request_init_from_bio(rh, h, l);
    TestBio after = make_bio(vb, 4);
    EXPECT_EQ(merge_kind(rh, after, l), MergeKind::None);
    QueueLimits no_boundary = l;
    no_boundary.virt_boundary_mask = 0;
    EXPECT_EQ(merge_kind(rh, after, no_boundary), MergeKind::Back);
    // Size limit.
    QueueLimits tiny = l;
    tiny.max_hw_sectors = 8;
    EXPECT_EQ(merge_kind(r, b, tiny), MergeKind::None);
    // A request already handed on no longer takes bios.
    r.state.store(RequestState::Queued, MemoryOrder::Relaxed);
    EXPECT_EQ(merge_kind(r, b, l), MergeKind::None);
}

TEST(BlockMerge, DriverDataSitsBehindTheRequest)
{
    alignas(64) unsigned char storage[REQUEST_DRIVER_DATA_OFFSET + 64] = {};
    auto* r = new (storage) Request();
    void* pdu = r->driver_data();
    EXPECT_EQ(static_cast<unsigned char*>(pdu) - storage, static_cast<long>(REQUEST_DRIVER_DATA_OFFSET));
    EXPECT_EQ(&Request::from_driver_data(pdu), r);
    EXPECT_EQ(REQUEST_DRIVER_DATA_OFFSET % 64, 0u);
}
