// An ext2::BlockCache over an image held in memory (the fuzzer's input), for a
// read-only mount.
//
// Every block handed out sits alone in a slot of an arena, followed by a
// poisoned redzone: under AddressSanitizer a read one byte past a block (or
// before it) is reported, where the kernel's cache (blocks packed into page
// cache pages) would silently read the neighbouring block. A block is copied
// into its slot on its first read and, like a real cache, the same bytes are
// handed out again on later reads; while no BlockRef pins it, its slot is
// poisoned too, so a pointer kept past release() is reported as well.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <sanitizer/asan_interface.h>

#include "fs/ext2/BlockCache.h"

namespace fuzz {

class ImageBlockCache final : public ext2::BlockCache {
public:
    static constexpr usize REDZONE_BYTES = 64;

    ImageBlockCache(const u8* image, usize size)
        : m_image(image)
        , m_size(size)
    {
        lay_out();
    }
    // Every pin must be dropped by the time the filesystem is done.
    ~ImageBlockCache()
    {
        if (m_pinned != 0)
            abort();
        ASAN_UNPOISON_MEMORY_REGION(m_arena.data(), m_arena.size());
    }

    u32 block_size() const override { return m_block_size; }
    Result<void> set_block_size(u32 size) override
    {
        if (m_pinned != 0)
            abort(); // a block size change under a pinned block
        m_block_size = size;
        lay_out();
        return {};
    }
    u64 device_size_bytes() const override { return m_size; }

    Result<ext2::BlockRef> read(u64 block) override
    {
        if (block >= m_blocks.size())
            return Error::from_errno(EIO); // past the end of the device, as a disk read would fail
        Slot& slot = m_blocks[block];
        u8* data = m_arena.data() + block * (m_block_size + REDZONE_BYTES);
        if (slot.pins++ == 0)
            ASAN_UNPOISON_MEMORY_REGION(data, m_block_size);
        if (!slot.loaded) {
            memcpy(data, m_image + block * m_block_size, m_block_size);
            slot.loaded = true;
        }
        m_pinned++;
        reads++;
        return ext2::BlockRef(this, block, data, &slot);
    }
    // The filesystem is mounted read-only: nothing may be written.
    Result<ext2::BlockRef> zeroed(u64) override { abort(); }
    Result<void> sync() override { return {}; }
    void mark_dirty(ext2::BlockRef&) override { abort(); }
    void release(ext2::BlockRef& ref) override
    {
        auto* slot = static_cast<Slot*>(ref.cookie());
        if (--slot->pins == 0)
            ASAN_POISON_MEMORY_REGION(ref.data(), m_block_size);
        m_pinned--;
    }

    u64 reads = 0;

private:
    struct Slot {
        u32 pins = 0;
        bool loaded = false;
    };

    // One slot and redzone per whole block of the device, all poisoned.
    void lay_out()
    {
        ASAN_UNPOISON_MEMORY_REGION(m_arena.data(), m_arena.size());
        m_blocks.assign(m_size / m_block_size, Slot {});
        m_arena.resize(m_blocks.size() * (m_block_size + REDZONE_BYTES));
        ASAN_POISON_MEMORY_REGION(m_arena.data(), m_arena.size());
    }

    const u8* m_image;
    usize m_size;
    u32 m_block_size = ext2::MIN_BLOCK_SIZE;
    int m_pinned = 0;
    std::vector<Slot> m_blocks;
    // Kept from one execution to the next (one cache exists at a time): a
    // fresh allocation each time would cost page faults through ASan's quarantine.
    static inline std::vector<u8> m_arena;
};

} // namespace fuzz
