#include "kernel/lib/Atomic.h"
#include "kernel/block/Tags.h"

namespace block {

TagAllocator::TagAllocator(u32 depth) : m_depth(depth)
{
    // Aim for at least 8 tags per word, at most MAX_WORDS words.
    m_word_count = min<u32>(MAX_WORDS, max<u32>(1, depth / 8));
    m_bits_per_word = (depth + m_word_count - 1) / m_word_count;
    if (m_bits_per_word > 64) {
        m_bits_per_word = 64;
        m_word_count = (depth + 63) / 64;
    }
    for (u32 w = 0; w < MAX_WORDS; w++) {
        const u32 first = w * m_bits_per_word;
        u32 usable = 0;
        if (w < m_word_count && first < depth)
            usable = min(m_bits_per_word, depth - first);
        m_words[w].bits.store(usable == 64 ? 0 : ~((u64(1) << usable) - 1), MemoryOrder::Relaxed);
    }
}

u32 TagAllocator::alloc(u32& hint)
{
    u32 word = hint < m_word_count ? hint : 0;
    for (u32 tried = 0; tried < m_word_count; tried++) {
        Atomic<u64>& bits = m_words[word].bits;
        u64 old = bits.load(MemoryOrder::Relaxed);
        while (old != ~u64(0)) {
            const u32 bit = static_cast<u32>(__builtin_ctzll(~old));
            // Acquire: the previous owner's writes to the request (done before
            // its release in free()) are visible to the new owner.
            if (bits.compare_exchange_weak(old, old | (u64(1) << bit), MemoryOrder::Acquire, MemoryOrder::Relaxed)) {
                hint = word;
                return word * m_bits_per_word + bit;
            }
        }
        word = word + 1 == m_word_count ? 0 : word + 1;
    }
    return NO_TAG;
}

void TagAllocator::free(u32 tag)
{
    const u32 word = tag / m_bits_per_word;
    const u32 bit = tag % m_bits_per_word;
    // Sequentially consistent, not just release: blk-mq reads its count of
    // parked bios right after (HwQueue::release_tag), and that load must
    // not pass this store (a Dekker pair with the parker).
    m_words[word].bits.fetch_and(~(u64(1) << bit), MemoryOrder::SeqCst);
}

bool TagAllocator::is_allocated(u32 tag) const
{
    const u32 word = tag / m_bits_per_word;
    const u32 bit = tag % m_bits_per_word;
    return (m_words[word].bits.load(MemoryOrder::Relaxed) >> bit) & 1;
}

u32 TagAllocator::in_use() const
{
    u32 count = 0;
    for (u32 tag = 0; tag < m_depth; tag++)
        count += is_allocated(tag);
    return count;
}

} // namespace block
