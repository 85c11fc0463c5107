// What the ext2 code needs from below: cached, pinned filesystem blocks.
//
// The filesystem never owns block memory. It asks the cache for a block, gets
// a BlockRef (a pin on cached data), reads or changes the bytes in place, marks
// the block dirty when it changed them, and drops the ref. In the kernel the
// cache is the block device's page cache (metadata shares pages with
// /dev/vda's buffered view); in host tests it is an image file in memory.
#pragma once

#include "kernel/lib/Result.h"
#include "kernel/lib/Types.h"
#include "kernel/lib/Utility.h"

namespace ext2 {

class BlockCache;

// A pinned block. Move-only; releases its pin when destroyed.
class BlockRef {
public:
    BlockRef() = default;
    BlockRef(BlockCache* cache, u64 block, u8* data, void* cookie)
        : m_cache(cache)
        , m_block(block)
        , m_data(data)
        , m_cookie(cookie)
    {
    }
    BlockRef(BlockRef&& other)
        : m_cache(kstd::exchange(other.m_cache, nullptr))
        , m_block(other.m_block)
        , m_data(kstd::exchange(other.m_data, nullptr))
        , m_cookie(other.m_cookie)
    {
    }
    BlockRef& operator=(BlockRef&& other)
    {
        if (this != &other) {
            release();
            m_cache = kstd::exchange(other.m_cache, nullptr);
            m_block = other.m_block;
            m_data = kstd::exchange(other.m_data, nullptr);
            m_cookie = other.m_cookie;
        }
        return *this;
    }
    BlockRef(const BlockRef&) = delete;
    BlockRef& operator=(const BlockRef&) = delete;
    ~BlockRef() { release(); }

    u8* data() const { return m_data; }
    u64 block() const { return m_block; }
    void* cookie() const { return m_cookie; }
    template <typename T> T* at(usize offset) const { return reinterpret_cast<T*>(m_data + offset); }

    inline void mark_dirty();
    inline void release();

private:
    BlockCache* m_cache = nullptr;
    u64 m_block = 0;
    u8* m_data = nullptr;
    void* m_cookie = nullptr; // the cache's handle (its page)
};

class BlockCache {
public:
    // The filesystem block size the cache hands out (1024 until mount knows better).
    virtual u32 block_size() const = 0;
    virtual Result<void> set_block_size(u32 block_size_bytes) = 0;
    // Total size of the device in bytes.
    virtual u64 device_size_bytes() const = 0;

    // The block's current contents (read from the device if not cached).
    virtual Result<BlockRef> read(u64 block) = 0;
    // A block the caller will overwrite entirely: handed out zero-filled and
    // dirty, without a device read.
    virtual Result<BlockRef> zeroed(u64 block) = 0;
    // Write every dirty block and ask the device to make it durable.
    virtual Result<void> sync() = 0;

    // Called by BlockRef.
    virtual void mark_dirty(BlockRef& ref) = 0;
    virtual void release(BlockRef& ref) = 0;

protected:
    ~BlockCache() = default; // never deleted through this interface
};

void BlockRef::mark_dirty()
{
    if (m_cache)
        m_cache->mark_dirty(*this);
}

void BlockRef::release()
{
    if (m_cache)
        kstd::exchange(m_cache, nullptr)->release(*this);
    m_data = nullptr;
}

} // namespace ext2
