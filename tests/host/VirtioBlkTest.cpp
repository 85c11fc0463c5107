// drivers/virtio/blk/Command: limits derived from features and config, the
// checks before a request reaches the device, headers, status -> errno; and
// virtio-blk requests end to end through a SplitVirtqueue to a fake block
// device that executes them on an in-memory disk.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "drivers/virtio/Features.h"
#include "drivers/virtio/SplitVirtqueue.h"
#include "drivers/virtio/blk/Command.h"
#include "drivers/virtio/blk/Protocol.h"
#include "tests/host/FakeVirtioDevice.h"
#include "tests/host/FakeVirtioPci.h"

using namespace virtio::blk;
using virtio::feature_bit;

namespace {

u64 all_offered()
{
    return feature_bit(virtio::FEATURE_VERSION_1) | feature_bit(virtio::FEATURE_INDIRECT_DESC)
        | feature_bit(virtio::FEATURE_EVENT_IDX) | feature_bit(FEATURE_SIZE_MAX)
        | feature_bit(FEATURE_SEG_MAX) | feature_bit(FEATURE_BLK_SIZE) | feature_bit(FEATURE_FLUSH)
        | feature_bit(FEATURE_MQ) | feature_bit(FEATURE_TOPOLOGY) | feature_bit(FEATURE_GEOMETRY)
        | feature_bit(FEATURE_CONFIG_WCE) | feature_bit(FEATURE_DISCARD) | feature_bit(FEATURE_WRITE_ZEROES)
        | feature_bit(virtio::FEATURE_RING_PACKED);
}

Config qemu_like_config()
{
    Config c{};
    c.capacity = 2048; // 1 MiB
    c.size_max = 0; // QEMU does not offer SIZE_MAX by default
    c.seg_max = 254;
    c.blk_size = 512;
    c.num_queues = 4;
    return c;
}

} // namespace

TEST(VirtioBlk, DriverNegotiatesOnlyWhatItImplements)
{
    const u64 negotiated = virtio::negotiate_features(all_offered(), driver_features());
    EXPECT_TRUE(virtio::has_feature(negotiated, virtio::FEATURE_VERSION_1));
    EXPECT_TRUE(virtio::has_feature(negotiated, virtio::FEATURE_INDIRECT_DESC));
    EXPECT_TRUE(virtio::has_feature(negotiated, virtio::FEATURE_EVENT_IDX));
    EXPECT_TRUE(virtio::has_feature(negotiated, FEATURE_MQ));
    EXPECT_TRUE(virtio::has_feature(negotiated, FEATURE_FLUSH));
    EXPECT_FALSE(virtio::has_feature(negotiated, virtio::FEATURE_RING_PACKED));
    EXPECT_FALSE(virtio::has_feature(negotiated, FEATURE_DISCARD));
    EXPECT_FALSE(virtio::has_feature(negotiated, FEATURE_WRITE_ZEROES));
    EXPECT_FALSE(virtio::has_feature(negotiated, FEATURE_CONFIG_WCE));
    EXPECT_FALSE(virtio::has_feature(negotiated, FEATURE_GEOMETRY));
    // A legacy-only device is not driven at all.
    EXPECT_EQ(virtio::negotiate_features(
                  all_offered() & ~feature_bit(virtio::FEATURE_VERSION_1), driver_features()),
        0u);
}

TEST(VirtioBlk, DescribeDeviceHonoursNegotiatedFields)
{
    Config c = qemu_like_config();
    c.blk_size = 4096;
    c.size_max = 65536;
    c.topology.physical_block_exp = 1;
    const u64 negotiated = virtio::negotiate_features(all_offered(), driver_features());
    DeviceInfo info = describe_device(negotiated, c, 126);
    EXPECT_EQ(info.capacity_sectors, 2048u);
    EXPECT_EQ(info.logical_block_bytes, 4096u);
    EXPECT_EQ(info.physical_block_bytes, 8192u);
    EXPECT_EQ(info.max_segments, 126u) << "capped by the driver's indirect table";
    EXPECT_EQ(info.max_segment_bytes, 65536u);
    EXPECT_EQ(info.max_transfer_bytes, 126u * 65536);
    EXPECT_EQ(info.num_queues, 4u);
    EXPECT_FALSE(info.read_only);
    EXPECT_TRUE(info.volatile_write_cache);

    // The device's seg_max below the driver's capacity wins.
    c.seg_max = 8;
    EXPECT_EQ(describe_device(negotiated, c, 126).max_segments, 8u);
}

TEST(VirtioBlk, DescribeDeviceDefaultsWithoutFeatures)
{
    Config c = qemu_like_config();
    c.blk_size = 4096; // ignored: BLK_SIZE not negotiated
    c.num_queues = 8; // ignored: MQ not negotiated
    c.size_max = 4096; // ignored
    const u64 negotiated = feature_bit(virtio::FEATURE_VERSION_1) | feature_bit(FEATURE_RO);
    DeviceInfo info = describe_device(negotiated, c, 126);
    EXPECT_EQ(info.logical_block_bytes, 512u);
    EXPECT_EQ(info.physical_block_bytes, 512u);
    EXPECT_EQ(info.num_queues, 1u);
    EXPECT_EQ(info.max_segments, 1u) << "without SEG_MAX, one data segment";
    EXPECT_GT(info.max_segment_bytes, 1u << 20);
    EXPECT_TRUE(info.read_only);
    EXPECT_FALSE(info.volatile_write_cache);

    // Nonsense block sizes fall back to 512.
    c.blk_size = 1000;
    EXPECT_EQ(describe_device(negotiated | feature_bit(FEATURE_BLK_SIZE), c, 126).logical_block_bytes, 512u);
    c.blk_size = 256;
    EXPECT_EQ(describe_device(negotiated | feature_bit(FEATURE_BLK_SIZE), c, 126).logical_block_bytes, 512u);
    // A segment limit below a block is raised to a block.
    c.blk_size = 4096;
    c.size_max = 512;
    DeviceInfo odd
        = describe_device(negotiated | feature_bit(FEATURE_BLK_SIZE) | feature_bit(FEATURE_SIZE_MAX), c, 126);
    EXPECT_EQ(odd.max_segment_bytes, 4096u);
}

TEST(VirtioBlk, CheckRequestRefusesWhatTheDeviceWould)
{
    Config c = qemu_like_config();
    c.blk_size = 4096;
    const u64 negotiated = virtio::negotiate_features(all_offered(), driver_features());
    DeviceInfo info = describe_device(negotiated, c, 126);

    EXPECT_FALSE(check_request(info, Operation::Read, 0, 4096).is_error());
    EXPECT_FALSE(check_request(info, Operation::Write, 2048 - 8, 4096).is_error()); // the last block
    EXPECT_FALSE(check_request(info, Operation::Flush, 0, 0).is_error());
    EXPECT_EQ(check_request(info, Operation::Read, 2048, 4096).error().code(), EINVAL); // past the end
    EXPECT_EQ(
        check_request(info, Operation::Read, 2048 - 8, 8192).error().code(), EINVAL); // straddles the end
    EXPECT_EQ(check_request(info, Operation::Read, ~0ul - 4, 4096).error().code(), EINVAL); // wraps
    EXPECT_EQ(check_request(info, Operation::Read, 1, 4096).error().code(), EINVAL); // misaligned sector
    EXPECT_EQ(check_request(info, Operation::Read, 0, 512).error().code(), EINVAL); // partial block
    EXPECT_EQ(check_request(info, Operation::Read, 0, 0).error().code(), EINVAL);
    EXPECT_EQ(check_request(info, Operation::Read, 0, info.max_transfer_bytes + 4096).error().code(), EINVAL);

    info.read_only = true;
    EXPECT_EQ(check_request(info, Operation::Write, 0, 4096).error().code(), EROFS);
    EXPECT_FALSE(check_request(info, Operation::Read, 0, 4096).is_error());
    EXPECT_FALSE(check_request(info, Operation::Flush, 0, 0).is_error());
}

TEST(VirtioBlk, HeadersAndStatusMapping)
{
    CommandBuffer command;
    std::memset(&command, 0x55, sizeof(command));
    prepare_command(command, Operation::Write, 1234);
    EXPECT_EQ(command.header.type, u32(REQUEST_OUT));
    EXPECT_EQ(command.header.reserved, 0u);
    EXPECT_EQ(command.header.sector, 1234u);
    EXPECT_EQ(command.status, STATUS_NOT_WRITTEN);
    EXPECT_EQ(completion_errno(command), EIO) << "status never written";

    prepare_command(command, Operation::Flush, 99);
    EXPECT_EQ(command.header.type, u32(REQUEST_FLUSH));
    EXPECT_EQ(command.header.sector, 0u);
    prepare_command(command, Operation::Read, 7);
    EXPECT_EQ(command.header.type, u32(REQUEST_IN));

    command.status = STATUS_OK;
    EXPECT_EQ(completion_errno(command), 0);
    command.status = STATUS_IOERR;
    EXPECT_EQ(completion_errno(command), EIO);
    command.status = STATUS_UNSUPP;
    EXPECT_EQ(completion_errno(command), EOPNOTSUPP);
    command.status = 17;
    EXPECT_EQ(completion_errno(command), EIO);
}

namespace {

// Executes virtio-blk requests (§5.2.6) from a queue on an in-memory disk, as
// a device would, including the failure statuses.
class FakeBlockDevice {
public:
    FakeBlockDevice(fake::DmaArena& dma, const virtio::SplitVirtqueue& queue, u64 sectors)
        : disk(sectors * SECTOR_SIZE)
        , m_dma(dma)
        , m_queue(dma, queue)
    {
        for (usize i = 0; i < disk.size(); i++)
            disk[i] = u8(i * 7 + i / 512);
    }

    usize run()
    {
        usize done = 0;
        while (auto chain = m_queue.pop()) {
            execute(*chain);
            done++;
        }
        m_queue.flush();
        return done;
    }

    std::vector<u8> disk;
    u64 fail_sector = ~0ul; // an I/O touching it fails with IOERR
    u64 flushes = 0;

private:
    void execute(const fake::SplitDevice::Chain& chain)
    {
        EXPECT_GE(chain.buffers.size(), 2u);
        const auto& header_buffer = chain.buffers.front();
        const auto& status_buffer = chain.buffers.back();
        EXPECT_FALSE(header_buffer.device_writes);
        EXPECT_EQ(header_buffer.len, sizeof(RequestHeader));
        EXPECT_TRUE(status_buffer.device_writes);
        EXPECT_EQ(status_buffer.len, 1u);
        RequestHeader header;
        std::memcpy(&header, m_dma.at(header_buffer.phys, sizeof(header)), sizeof(header));
        u8 status = STATUS_OK;
        u32 written = 1;
        u64 offset = header.sector * SECTOR_SIZE;
        switch (header.type) {
        case REQUEST_IN:
        case REQUEST_OUT:
            for (usize i = 1; i + 1 < chain.buffers.size(); i++) {
                const auto& b = chain.buffers[i];
                EXPECT_EQ(b.device_writes, header.type == REQUEST_IN);
                if (offset + b.len > disk.size()) {
                    status = STATUS_IOERR;
                    break;
                }
                if (fail_sector * SECTOR_SIZE >= offset && fail_sector * SECTOR_SIZE < offset + b.len)
                    status = STATUS_IOERR;
                if (header.type == REQUEST_IN) {
                    std::memcpy(m_dma.at(b.phys, b.len), &disk[offset], b.len);
                    written += b.len;
                } else {
                    std::memcpy(&disk[offset], m_dma.at(b.phys, b.len), b.len);
                }
                offset += b.len;
            }
            break;
        case REQUEST_FLUSH:
            EXPECT_EQ(chain.buffers.size(), 2u);
            flushes++;
            break;
        default:
            status = STATUS_UNSUPP;
        }
        *m_dma.at(status_buffer.phys) = status;
        m_queue.complete(chain.head, written);
    }

    fake::DmaArena& m_dma;
    fake::SplitDevice m_queue;
};

struct BlkRequest {
    CommandBuffer* command;
    std::vector<virtio::Segment> data;
    int error = -1;
};

Result<u16> submit(virtio::SplitVirtqueue& queue, fake::DmaArena& dma, BlkRequest& request)
{
    const usize count = chain_length(request.data.size());
    const PhysAddr header_phys = dma.phys_of(&request.command->header);
    const PhysAddr status_phys = dma.phys_of(&request.command->status);
    return queue.add_chain(count, &request, [&](usize i) {
        if (i == 0)
            return virtio::Segment{ header_phys, sizeof(RequestHeader), false };
        if (i == count - 1)
            return virtio::Segment{ status_phys, 1, true };
        return request.data[i - 1];
    });
}

void harvest(virtio::SplitVirtqueue& queue)
{
    virtio::UsedBuffer used;
    while (queue.pop_used(used)) {
        auto* request = static_cast<BlkRequest*>(used.token);
        request->error = completion_errno(*request->command);
    }
}

} // namespace

TEST(VirtioBlk, ReadWriteFlushThroughTheVirtqueue)
{
    fake::QueueFixture f(64, true, 18, 4 << 20);
    FakeBlockDevice device(f.dma, f.queue, 2048);
    const std::vector<u8> original = device.disk;

    // Commands and data in DMA memory, as the driver keeps them in its requests.
    auto commands = f.dma.allocate(sizeof(CommandBuffer) * 8, 16);
    auto* command = static_cast<CommandBuffer*>(commands.virt);
    auto buffer = f.dma.allocate(64 * 1024, 4096);
    u8* bytes = static_cast<u8*>(buffer.virt);

    // Read 16 KiB from sector 8 as four scattered 4 KiB segments, out of order in memory.
    BlkRequest read{ &command[0], {} };
    prepare_command(*read.command, Operation::Read, 8);
    for (usize i : { 3u, 0u, 2u, 1u })
        read.data.push_back({ buffer.phys + i * 4096, 4096, true });
    // Write 8 KiB at sector 100 from one buffer, then flush.
    BlkRequest write{ &command[1], {} };
    prepare_command(*write.command, Operation::Write, 100);
    std::memset(bytes + 32768, 0xab, 8192);
    write.data.push_back({ buffer.phys + 32768, 8192, false });
    BlkRequest flush{ &command[2], {} };
    prepare_command(*flush.command, Operation::Flush, 0);
    // An unsupported request type and a failing sector.
    BlkRequest odd{ &command[3], {} };
    prepare_command(*odd.command, Operation::Read, 0);
    odd.command->header.type = REQUEST_GET_LIFETIME;
    odd.data.push_back({ buffer.phys + 49152, 512, true });
    BlkRequest failing{ &command[4], {} };
    prepare_command(*failing.command, Operation::Read, 1000);
    failing.data.push_back({ buffer.phys + 53248, 4096, true });
    device.fail_sector = 1003;

    for (BlkRequest* r : { &read, &write, &flush, &odd, &failing })
        ASSERT_FALSE(submit(f.queue, f.dma, *r).is_error());
    EXPECT_EQ(f.queue.free_descriptors(), 64u - 5) << "each request takes one ring descriptor";
    EXPECT_TRUE(f.queue.publish());
    EXPECT_EQ(device.run(), 5u);
    harvest(f.queue);

    EXPECT_EQ(read.error, 0);
    const usize order[] = { 3, 0, 2, 1 };
    for (usize i = 0; i < 4; i++)
        EXPECT_EQ(std::memcmp(bytes + order[i] * 4096, &original[8 * 512 + i * 4096], 4096), 0) << i;
    EXPECT_EQ(write.error, 0);
    for (usize i = 0; i < 8192; i++)
        ASSERT_EQ(device.disk[100 * 512 + i], 0xab);
    EXPECT_EQ(device.disk[100 * 512 + 8192], original[100 * 512 + 8192]) << "wrote past the request";
    EXPECT_EQ(flush.error, 0);
    EXPECT_EQ(device.flushes, 1u);
    EXPECT_EQ(odd.error, EOPNOTSUPP);
    EXPECT_EQ(failing.error, EIO);
    EXPECT_EQ(f.queue.free_descriptors(), 64u);
}

TEST(VirtioBlk, LargestRequestUsesAFullIndirectTable)
{
    // seg_max data segments + header + status = the table length the driver
    // allocated; one more data segment falls back to direct descriptors.
    constexpr u16 TABLE = 18;
    fake::QueueFixture f(32, false, TABLE, 4 << 20);
    FakeBlockDevice device(f.dma, f.queue, 2048);
    auto commands = f.dma.allocate(sizeof(CommandBuffer) * 2, 16);
    auto* command = static_cast<CommandBuffer*>(commands.virt);
    auto buffer = f.dma.allocate(17 * 4096, 4096);

    BlkRequest full{ &command[0], {} };
    prepare_command(*full.command, Operation::Read, 0);
    for (usize i = 0; i < TABLE - 2; i++)
        full.data.push_back({ buffer.phys + i * 4096, 4096, true });
    ASSERT_FALSE(submit(f.queue, f.dma, full).is_error());
    EXPECT_EQ(f.queue.free_descriptors(), 31u);

    BlkRequest over{ &command[1], {} };
    prepare_command(*over.command, Operation::Read, 256);
    for (usize i = 0; i < TABLE - 1; i++)
        over.data.push_back({ buffer.phys + i * 4096, 4096, true });
    ASSERT_FALSE(submit(f.queue, f.dma, over).is_error());
    EXPECT_EQ(f.queue.free_descriptors(), 31u - (TABLE + 1));

    f.queue.publish();
    EXPECT_EQ(device.run(), 2u);
    harvest(f.queue);
    EXPECT_EQ(full.error, 0);
    EXPECT_EQ(over.error, 0);
    EXPECT_EQ(f.queue.free_descriptors(), 32u);
}

// --- RequestQueue: block::Requests through the queue to the fake device ---

#include "drivers/virtio/blk/RequestQueue.h"
#include "kernel/block/Bio.h"
#include "kernel/block/Limits.h"
#include "kernel/block/Request.h"
#include "kernel/mm/Page.h"

namespace {

// Fake page descriptors: page i of `pages` is the 4 KiB at `data_phys + i * 4096`.
Page g_pages[64];
PhysAddr g_data_phys;
fake::DmaArena* g_arena;

PhysAddr fake_page_phys(const Page* page) { return g_data_phys + PhysAddr(page - g_pages) * 4096; }
PhysAddr fake_virt_phys(const void* virt) { return g_arena->phys_of(virt); }

struct RequestQueueFixture {
    fake::QueueFixture f;
    FakeBlockDevice device;
    fake::VirtioPciFunction pci;
    virtio::PciTransport transport;
    virtio::QueueNotifier notifier;
    DeviceInfo info;
    u8* data;
    u8* request_memory;
    block::QueueLimits limits;

    RequestQueueFixture(u16 size, bool event_idx, u16 max_indirect, u64 features_extra = 0, u32 size_max = 0)
        : f(size, event_idx, max_indirect, 1 << 20)
        , device(f.dma, f.queue, 2048)
        , pci(0, 1, {})
        , transport(virtio::PciTransport::probe(pci).release_value())
    {
        auto pages = f.dma.allocate(64 * 4096, 4096);
        g_data_phys = pages.phys;
        g_arena = &f.dma;
        data = static_cast<u8*>(pages.virt);
        request_memory = static_cast<u8*>(f.dma.allocate(16 * 512, 64).virt);
        for (usize slot = 0; slot < 16; slot++)
            new (request_memory + slot * 512) block::Request();
        notifier = { &pci, fake::VirtioPciFunction::NOTIFY, 0 };
        pci.status = virtio::STATUS_DRIVER_OK;
        Config c = qemu_like_config();
        c.size_max = size_max;
        const u64 negotiated = feature_bit(virtio::FEATURE_VERSION_1) | feature_bit(FEATURE_SEG_MAX)
            | feature_bit(FEATURE_FLUSH) | features_extra;
        info = describe_device(negotiated, c, RequestQueue::max_data_segments(f.queue));
    }

    block::Request& request(usize slot)
    {
        static_assert(block::REQUEST_DRIVER_DATA_OFFSET + sizeof(RequestData) <= 512);
        return *reinterpret_cast<block::Request*>(request_memory + slot * 512);
    }
};

} // namespace

TEST(VirtioBlkRequestQueue, MergedBiosBecomeOneChainWithVerifiedData)
{
    RequestQueueFixture x(64, true, 32);
    RequestQueue queue(x.f.queue, x.notifier, x.info, { fake_page_phys, fake_virt_phys });
    const std::vector<u8> original = x.device.disk;

    // Three bios for sectors 16..39 (12 KiB), each with two vecs in scattered pages.
    block::BioVec vecs[3][2] = {
        { { &g_pages[5], 0, 2048 }, { &g_pages[9], 1024, 2048 } },
        { { &g_pages[2], 0, 4096 }, { &g_pages[7], 512, 512 } },
        { { &g_pages[3], 3584, 512 }, { &g_pages[11], 0, 3072 } },
    };
    block::Bio bios[3];
    u64 sector = 16;
    for (int i = 0; i < 3; i++) {
        block::bio_init(bios[i], block::BioOp::Read, sector, vecs[i], 2);
        sector += bios[i].sectors();
    }
    block::Request& rq = x.request(0);
    block::request_init_from_bio(rq, bios[0], x.limits);
    block::request_merge_bio(rq, bios[1], block::MergeKind::Back, x.limits);
    block::request_merge_bio(rq, bios[2], block::MergeKind::Back, x.limits);
    ASSERT_EQ(rq.size_bytes, 12288u);

    auto result = queue.submit(rq);
    ASSERT_EQ(result.outcome, RequestQueue::Outcome::Issued);
    EXPECT_EQ(x.f.queue.free_descriptors(), 63u);
    queue.commit();
    EXPECT_EQ(x.pci.notifications.size(), 1u);
    EXPECT_EQ(x.device.run(), 1u);

    RequestQueue::Done done[4];
    ASSERT_EQ(queue.reap_batch(done, 4), 1u);
    EXPECT_EQ(done[0].request, &rq);
    EXPECT_EQ(done[0].error, 0);
    // Every byte landed where its vec says.
    u64 disk_offset = 16 * 512;
    for (auto& bio_vecs : vecs) {
        for (auto& v : bio_vecs) {
            const u8* memory = x.data + (v.page - g_pages) * 4096 + v.offset;
            EXPECT_EQ(std::memcmp(memory, &original[disk_offset], v.length), 0)
                << "disk offset " << disk_offset;
            disk_offset += v.length;
        }
    }
}

TEST(VirtioBlkRequestQueue, SegmentsAreCutAtSizeMax)
{
    RequestQueueFixture x(64, false, 32, feature_bit(FEATURE_SIZE_MAX), 4096);
    RequestQueue queue(x.f.queue, x.notifier, x.info, { fake_page_phys, fake_virt_phys });
    EXPECT_EQ(x.info.max_segment_bytes, 4096u);
    // One 16 KiB vec over four physically contiguous pages, starting mid-page.
    block::BioVec vec{ &g_pages[20], 2048, 16384 };
    block::Bio bio;
    block::bio_init(bio, block::BioOp::Write, 64, &vec, 1);
    std::memset(x.data + 20 * 4096 + 2048, 0x5a, 16384);
    block::Request& rq = x.request(0);
    block::request_init_from_bio(rq, bio, x.limits);
    ASSERT_EQ(queue.submit(rq).outcome, RequestQueue::Outcome::Issued);
    queue.commit();
    ASSERT_EQ(x.device.run(), 1u);
    RequestQueue::Done done[1];
    ASSERT_EQ(queue.reap_batch(done, 1), 1u);
    EXPECT_EQ(done[0].error, 0);
    for (u32 i = 0; i < 16384; i++)
        ASSERT_EQ(x.device.disk[64 * 512 + i], 0x5a) << i;
}

TEST(VirtioBlkRequestQueue, ReadOnlyFlushAndInvalidRequestsNeverReachTheDevice)
{
    RequestQueueFixture x(64, true, 32, feature_bit(FEATURE_RO));
    RequestQueue queue(x.f.queue, x.notifier, x.info, { fake_page_phys, fake_virt_phys });
    block::BioVec vec{ &g_pages[0], 0, 4096 };
    block::Bio write;
    block::bio_init(write, block::BioOp::Write, 0, &vec, 1);
    block::Request& w = x.request(0);
    block::request_init_from_bio(w, write, x.limits);
    auto r = queue.submit(w);
    EXPECT_EQ(r.outcome, RequestQueue::Outcome::Completed);
    EXPECT_EQ(r.error, EROFS);

    block::Bio beyond;
    block::bio_init(beyond, block::BioOp::Read, 2048 - 4, &vec, 1);
    block::Request& b = x.request(1);
    block::request_init_from_bio(b, beyond, x.limits);
    r = queue.submit(b);
    EXPECT_EQ(r.outcome, RequestQueue::Outcome::Completed);
    EXPECT_EQ(r.error, EINVAL);

    // FLUSH negotiated: flushes go to the device, with no data descriptors.
    block::Bio flush;
    block::bio_init(flush, block::BioOp::Flush, 0, nullptr, 0);
    block::Request& fl = x.request(2);
    block::request_init_from_bio(fl, flush, x.limits);
    ASSERT_EQ(queue.submit(fl).outcome, RequestQueue::Outcome::Issued);
    queue.commit();
    EXPECT_EQ(x.device.run(), 1u);
    EXPECT_EQ(x.device.flushes, 1u);
    RequestQueue::Done done[2];
    EXPECT_EQ(queue.reap_batch(done, 2), 1u);
    EXPECT_EQ(done[0].error, 0);

    // Without FLUSH a flush completes at once: writes are already durable.
    x.info.volatile_write_cache = false;
    RequestQueue write_through(x.f.queue, x.notifier, x.info, { fake_page_phys, fake_virt_phys });
    block::Request& fl2 = x.request(3);
    block::request_init_from_bio(fl2, flush, x.limits);
    r = write_through.submit(fl2);
    EXPECT_EQ(r.outcome, RequestQueue::Outcome::Completed);
    EXPECT_EQ(r.error, 0);
    EXPECT_EQ(x.device.run(), 0u);
}

TEST(VirtioBlkRequestQueue, BusyWhenFullOneNotificationPerBatchAndBoundedReaping)
{
    RequestQueueFixture x(8, true, 4);
    RequestQueue queue(x.f.queue, x.notifier, x.info, { fake_page_phys, fake_virt_phys });
    block::BioVec vec{ &g_pages[0], 0, 512 };
    block::Bio bios[10];
    for (usize i = 0; i < 10; i++) {
        block::bio_init(bios[i], block::BioOp::Read, i, &vec, 1);
        block::request_init_from_bio(x.request(i), bios[i], x.limits);
    }
    // A batch of 5, then a batch of 3: the device has not looked at the ring
    // in between, so only the first batch notifies.
    for (usize i = 0; i < 5; i++)
        ASSERT_EQ(queue.submit(x.request(i)).outcome, RequestQueue::Outcome::Issued);
    queue.commit();
    for (usize i = 5; i < 8; i++)
        ASSERT_EQ(queue.submit(x.request(i)).outcome, RequestQueue::Outcome::Issued);
    EXPECT_EQ(queue.submit(x.request(8)).outcome, RequestQueue::Outcome::Busy);
    queue.commit();
    queue.commit(); // an empty commit does nothing
    EXPECT_EQ(queue.counters().batches, 2u);
    EXPECT_EQ(queue.counters().notifications, 1u);
    EXPECT_EQ(x.pci.notifications.size(), 1u);
    EXPECT_EQ(queue.counters().busy, 1u);

    EXPECT_EQ(x.device.run(), 8u);
    RequestQueue::Done done[3];
    EXPECT_EQ(queue.reap_batch(done, 3), 3u);
    EXPECT_EQ(queue.reap_batch(done, 3), 3u);
    EXPECT_EQ(queue.reap_batch(done, 3), 2u);
    EXPECT_EQ(queue.counters().completed, 8u);
    EXPECT_TRUE(x.f.queue.interrupts_enabled());
    // Now a new submission notifies again (the device re-armed when it drained).
    ASSERT_EQ(queue.submit(x.request(8)).outcome, RequestQueue::Outcome::Issued);
    queue.commit();
    EXPECT_EQ(x.pci.notifications.size(), 2u);
}
