#include "fs/pagecache/BlockDeviceMapping.h"

#include "fs/pagecache/Writeback.h"
#include "kernel/block/BlockDevice.h"
#include "kernel/sync/Mutex.h"

namespace pagecache {
namespace {

class BlockDeviceOperations final : public MappingOperations {
public:
    // The identity map, clipped to the device: past its end is a hole (a
    // partial last page reads zeros there and writes nothing there).
    Result<BlockMapping> map_blocks(Mapping& space, u64 block, u64 max_blocks, bool create) override
    {
        const u64 device_blocks = space.size_bytes() >> space.block_shift();
        BlockMapping mapping;
        if (block >= device_blocks) {
            if (create)
                return Error::from_errno(ENOSPC);
            mapping.blocks = max<u64>(max_blocks, 1);
            return mapping;
        }
        mapping.sector = block << (space.block_shift() - block::SECTOR_SHIFT);
        mapping.blocks = min(max<u64>(max_blocks, 1), device_blocks - block);
        return mapping;
    }
};

BlockDeviceOperations g_operations;

struct Entry {
    block::BlockDevice* device;
    Mapping* space;
};
Entry g_spaces[block::MAX_BLOCK_DEVICES];
usize g_count = 0;
Mutex g_lock{LockRank::MutexGeneric, "block device spaces"};

} // namespace

Result<Mapping*> block_device_mapping(block::BlockDevice& device)
{
    MutexGuard guard(g_lock);
    for (usize i = 0; i < g_count; i++) {
        if (g_spaces[i].device == &device)
            return g_spaces[i].space;
    }
    if (g_count == block::MAX_BLOCK_DEVICES)
        return Error::from_errno(ENOSPC);
    const u32 block_size = min<u32>(device.limits().logical_block_size, PAGE_SIZE);
    auto* space = new Mapping(g_operations, &device, block_size, &device);
    if (!space)
        return Error::from_errno(ENOMEM);
    space->set_size_bytes(device.capacity_bytes());
    g_spaces[g_count++] = Entry {&device, space};
    return space;
}

Result<void> release_block_device_mapping(block::BlockDevice& device)
{
    Mapping* space = nullptr;
    {
        MutexGuard guard(g_lock);
        for (usize i = 0; i < g_count; i++) {
            if (g_spaces[i].device != &device)
                continue;
            space = g_spaces[i].space;
            g_spaces[i] = g_spaces[--g_count];
            break;
        }
    }
    Result<void> written {};
    if (space) {
        written = fsync_range(*space, 0, ~0ul);
        space->release();
        delete space;
    }
    Writeback::forget_device(device);
    return written;
}

} // namespace pagecache
