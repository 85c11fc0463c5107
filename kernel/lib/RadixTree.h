// A radix tree of non-null pointers keyed by a 64-bit index (the page cache's
// page index), with per-entry tag bits that are summarised up the tree so that
// "the next dirty page at or after N" costs one descent, not a scan.
//
// Shape: every node has 64 slots (6 bits of the index per level). A node at
// `shift` s holds, in slot i, either a child covering 2^s indices (s > 0) or an
// item (s == 0). The tree is only as tall as its largest index needs; it grows
// on insert and shrinks on erase.
//
// Tags (TAG_DIRTY, TAG_WRITEBACK, TAG_TOWRITE): for every node and tag, bit i of
// tags[tag] is set iff slot i holds a tagged item (leaf) or a child with at
// least one tagged item below it. `present` has bit i set iff slot i is used.
// These two invariants are what every operation keeps and what check() verifies.
//
// Nodes come from a caller-supplied allocator (a slab cache in the kernel,
// malloc in host tests) so the tree itself depends on nothing. Locking is the
// owner's job (the address space's lock); find_next* never allocate.
#pragma once

#include "kernel/lib/Result.h"
#include "kernel/lib/Types.h"

struct RadixTreeAllocator {
    void* (*allocate)(usize size_bytes); // may return null
    void (*free)(void* pointer);
};

class RadixTree {
public:
    static constexpr unsigned BITS_PER_LEVEL = 6;
    static constexpr unsigned SLOTS = 1u << BITS_PER_LEVEL;
    static constexpr u64 SLOT_MASK = SLOTS - 1;

    enum Tag : unsigned {
        TAG_DIRTY = 0, // page newer than the disk
        TAG_WRITEBACK = 1, // page being written
        TAG_TOWRITE = 2, // snapshot of DIRTY taken by a data-integrity sync (fsync)
        TAG_COUNT = 3,
    };

    explicit RadixTree(const RadixTreeAllocator& allocator)
        : m_allocator(&allocator)
    {
    }
    RadixTree(const RadixTree&) = delete;
    RadixTree& operator=(const RadixTree&) = delete;
    // Frees the nodes; the items are the owner's and are not touched.
    ~RadixTree() { clear(); }

    // EEXIST if `index` is present, ENOMEM if a node could not be allocated
    // (the tree is unchanged then), EINVAL for a null item.
    Result<void> insert(u64 index, void* item);
    void* lookup(u64 index) const;
    // Removes and returns the item at `index` (null if absent); its tags go with it.
    void* erase(u64 index);
    // Replaces the item at an existing index (tags kept); returns the old one or null if absent.
    void* replace(u64 index, void* item);

    // Tag operations on a present index; set/clear return false if absent.
    bool set_tag(u64 index, Tag tag);
    bool clear_tag(u64 index, Tag tag);
    bool get_tag(u64 index, Tag tag) const;
    // Whether any item in the tree carries `tag`: O(1).
    bool any_tagged(Tag tag) const;

    // The first item at an index >= `start` (with `tag`), or null. The index
    // found is stored in `found_index`.
    void* find_next(u64 start, u64& found_index) const;
    void* find_next_tagged(u64 start, Tag tag, u64& found_index) const;

    // Up to `max` items at indices >= start, in index order. Returns how many.
    usize gang_lookup(u64 start, void** items, u64* indices, usize max) const;
    usize gang_lookup_tagged(u64 start, Tag tag, void** items, u64* indices, usize max) const;

    usize size() const { return m_size; }
    bool is_empty() const { return m_size == 0; }
    // Erase everything (items untouched).
    void clear();

    // Number of levels (0 when empty); for tests and statistics.
    unsigned height() const;
    usize node_count() const { return m_node_count; }

    // Verify every structural invariant; returns false on the first violation.
    // For tests and debug checks: walks the whole tree.
    bool check() const;

private:
    struct Node {
        Node* parent;
        u8 shift; // bits of the index below this node's slots
        u8 offset; // slot index in the parent
        u64 present; // bit i: slots[i] used
        u64 tags[TAG_COUNT];
        void* slots[SLOTS];
    };

    static u64 max_index_of(unsigned shift)
    {
        const unsigned bits = shift + BITS_PER_LEVEL;
        return bits >= 64 ? ~0ul : (1ul << bits) - 1;
    }
    static unsigned slot_of(u64 index, unsigned shift) { return (index >> shift) & SLOT_MASK; }

    Node* allocate_node(unsigned shift);
    void free_node(Node* node);
    // Leaf node holding `index`, or null.
    Node* find_leaf(u64 index) const;
    // Remove empty nodes from `node` upwards, then shrink the root while it
    // has only slot 0 used.
    void prune_from(Node* node);
    void shrink_root();
    // Recompute the tag bit for `node`'s slot in its ancestors after a clear.
    void propagate_tag_clear(Node* node, Tag tag);
    void* find_in(const Node* node, u64 base, u64 start, int tag, u64& found_index) const;
    bool check_node(const Node* node, u64 base, usize& items, usize& nodes) const;
    void free_subtree(Node* node);

    const RadixTreeAllocator* m_allocator;
    Node* m_root = nullptr;
    usize m_size = 0;
    usize m_node_count = 0;
};
