// The tag allocator of one hardware queue: a lock-free bitmap, one word per
// cache line, with a per-CPU hint of where to look first (Linux sbitmap).
//
// Spreading the tags over several words, each on its own cache line, lets
// CPUs that share a hardware queue allocate without fighting over one line;
// the hint keeps each CPU in "its" word while that word has free bits.
// alloc() and free() are safe from any CPU and from interrupt context.
#pragma once

#include "kernel/lib/Atomic.h"
#include "kernel/lib/Types.h"

namespace block {

constexpr u32 MAX_TAGS = 1024;
constexpr u32 NO_TAG = ~0u;

class TagAllocator {
public:
    // `depth` tags, 1..MAX_TAGS, numbered 0..depth-1.
    explicit TagAllocator(u32 depth);
    TagAllocator(const TagAllocator&) = delete;
    TagAllocator& operator=(const TagAllocator&) = delete;

    // A free tag, or NO_TAG when all are in use. `hint` is the caller's
    // per-CPU cursor (a word index), updated on success.
    u32 alloc(u32& hint);
    void free(u32 tag);

    bool is_allocated(u32 tag) const;
    u32 depth() const { return m_depth; }
    u32 in_use() const; // a snapshot; exact only when nobody allocates or frees
    u32 word_count() const { return m_word_count; }
    u32 bits_per_word() const { return m_bits_per_word; }

private:
    struct alignas(64) Word {
        Atomic<u64> bits; // 1 = allocated; bits past the word's share are preset to 1
    };
    static constexpr u32 MAX_WORDS = 16;

    u32 m_depth;
    u32 m_word_count;
    u32 m_bits_per_word;
    Word m_words[MAX_WORDS];
};

} // namespace block
