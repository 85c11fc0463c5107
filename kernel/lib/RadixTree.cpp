#include "kernel/lib/RadixTree.h"

#include "kernel/lib/String.h"

RadixTree::Node* RadixTree::allocate_node(unsigned shift)
{
    auto* node = static_cast<Node*>(m_allocator->allocate(sizeof(Node)));
    if (!node)
        return nullptr;
    memset(node, 0, sizeof(Node));
    node->shift = static_cast<u8>(shift);
    m_node_count++;
    return node;
}

void RadixTree::free_node(Node* node)
{
    m_node_count--;
    m_allocator->free(node);
}

Result<void> RadixTree::insert(u64 index, void* item)
{
    if (!item)
        return Error::from_errno(EINVAL);

    if (!m_root) {
        unsigned shift = 0;
        while (index > max_index_of(shift))
            shift += BITS_PER_LEVEL;
        m_root = allocate_node(shift);
        if (!m_root)
            return Error::from_errno(ENOMEM);
    }

    // Grow: a new root whose slot 0 is the old root. On a later failure the
    // new levels have only slot 0 used and shrink_root() takes them away.
    while (index > max_index_of(m_root->shift)) {
        Node* top = allocate_node(m_root->shift + BITS_PER_LEVEL);
        if (!top) {
            shrink_root(); // undo the levels added so far
            return Error::from_errno(ENOMEM);
        }
        top->slots[0] = m_root;
        top->present = 1;
        for (unsigned t = 0; t < TAG_COUNT; t++)
            top->tags[t] = m_root->tags[t] ? 1 : 0;
        m_root->parent = top;
        m_root->offset = 0;
        m_root = top;
    }

    Node* node = m_root;
    while (node->shift > 0) {
        const unsigned slot = slot_of(index, node->shift);
        auto* child = static_cast<Node*>(node->slots[slot]);
        if (!child) {
            child = allocate_node(node->shift - BITS_PER_LEVEL);
            if (!child) {
                prune_from(node);
                return Error::from_errno(ENOMEM);
            }
            child->parent = node;
            child->offset = static_cast<u8>(slot);
            node->slots[slot] = child;
            node->present |= 1ul << slot;
        }
        node = child;
    }

    const unsigned slot = slot_of(index, 0);
    if (node->slots[slot])
        return Error::from_errno(EEXIST);
    node->slots[slot] = item;
    node->present |= 1ul << slot;
    m_size++;
    return {};
}

RadixTree::Node* RadixTree::find_leaf(u64 index) const
{
    Node* node = m_root;
    if (!node || index > max_index_of(node->shift))
        return nullptr;
    while (node->shift > 0) {
        node = static_cast<Node*>(node->slots[slot_of(index, node->shift)]);
        if (!node)
            return nullptr;
    }
    return node;
}

void* RadixTree::lookup(u64 index) const
{
    Node* leaf = find_leaf(index);
    return leaf ? leaf->slots[slot_of(index, 0)] : nullptr;
}

void* RadixTree::replace(u64 index, void* item)
{
    Node* leaf = find_leaf(index);
    if (!leaf || !item)
        return nullptr;
    void*& slot = leaf->slots[slot_of(index, 0)];
    if (!slot)
        return nullptr;
    return kstd::exchange(slot, item);
}

void RadixTree::propagate_tag_clear(Node* node, Tag tag)
{
    // Walk up while the child's summary went to zero: the parent's bit for it
    // must go too.
    while (node->tags[tag] == 0 && node->parent) {
        Node* parent = node->parent;
        const u64 bit = 1ul << node->offset;
        if (!(parent->tags[tag] & bit))
            break;
        parent->tags[tag] &= ~bit;
        node = parent;
    }
}

void* RadixTree::erase(u64 index)
{
    Node* leaf = find_leaf(index);
    if (!leaf)
        return nullptr;
    const unsigned slot = slot_of(index, 0);
    void* item = leaf->slots[slot];
    if (!item)
        return nullptr;
    const u64 bit = 1ul << slot;
    for (unsigned t = 0; t < TAG_COUNT; t++) {
        if (leaf->tags[t] & bit) {
            leaf->tags[t] &= ~bit;
            propagate_tag_clear(leaf, static_cast<Tag>(t));
        }
    }
    leaf->slots[slot] = nullptr;
    leaf->present &= ~bit;
    m_size--;
    prune_from(leaf);
    return item;
}

void RadixTree::prune_from(Node* node)
{
    while (node && node->present == 0) {
        Node* parent = node->parent;
        if (parent) {
            const u64 bit = 1ul << node->offset;
            parent->slots[node->offset] = nullptr;
            parent->present &= ~bit;
            // An empty node has no tags, so the parent's bits for it are
            // already clear (the invariant); nothing else to propagate.
        } else {
            m_root = nullptr;
        }
        free_node(node);
        node = parent;
    }
    shrink_root();
}

void RadixTree::shrink_root()
{
    while (m_root && m_root->shift > 0 && m_root->present == 1) {
        Node* child = static_cast<Node*>(m_root->slots[0]);
        Node* old = m_root;
        child->parent = nullptr;
        child->offset = 0;
        m_root = child;
        free_node(old);
    }
}

bool RadixTree::set_tag(u64 index, Tag tag)
{
    Node* leaf = find_leaf(index);
    if (!leaf)
        return false;
    unsigned slot = slot_of(index, 0);
    if (!leaf->slots[slot])
        return false;
    // Set bottom-up; stop early where an ancestor already summarises the tag.
    for (Node* node = leaf; node; node = node->parent) {
        const u64 bit = 1ul << slot;
        if (node->tags[tag] & bit)
            break;
        node->tags[tag] |= bit;
        slot = node->offset;
    }
    return true;
}

bool RadixTree::clear_tag(u64 index, Tag tag)
{
    Node* leaf = find_leaf(index);
    if (!leaf)
        return false;
    const unsigned slot = slot_of(index, 0);
    if (!leaf->slots[slot])
        return false;
    const u64 bit = 1ul << slot;
    if (leaf->tags[tag] & bit) {
        leaf->tags[tag] &= ~bit;
        propagate_tag_clear(leaf, tag);
    }
    return true;
}

bool RadixTree::get_tag(u64 index, Tag tag) const
{
    Node* leaf = find_leaf(index);
    return leaf && (leaf->tags[tag] & (1ul << slot_of(index, 0)));
}

bool RadixTree::any_tagged(Tag tag) const { return m_root && m_root->tags[tag] != 0; }

// First item at index >= start in the subtree of `node`, whose first index is
// `base` (start >= base). tag < 0: any item; otherwise items with that tag.
void* RadixTree::find_in(const Node* node, u64 base, u64 start, int tag, u64& found_index) const
{
    const unsigned first_slot = slot_of(start, node->shift);
    u64 bitmap = tag < 0 ? node->present : node->tags[tag];
    bitmap &= ~0ul << first_slot;
    while (bitmap) {
        const unsigned slot = __builtin_ctzl(bitmap);
        const u64 child_base = base + (static_cast<u64>(slot) << node->shift);
        if (node->shift == 0) {
            found_index = child_base;
            return node->slots[slot];
        }
        const u64 child_start = slot == first_slot ? start : child_base;
        if (void* item
            = find_in(static_cast<const Node*>(node->slots[slot]), child_base, child_start, tag, found_index))
            return item;
        bitmap &= bitmap - 1;
    }
    return nullptr;
}

void* RadixTree::find_next(u64 start, u64& found_index) const
{
    if (!m_root || start > max_index_of(m_root->shift))
        return nullptr;
    return find_in(m_root, 0, start, -1, found_index);
}

void* RadixTree::find_next_tagged(u64 start, Tag tag, u64& found_index) const
{
    if (!m_root || start > max_index_of(m_root->shift))
        return nullptr;
    return find_in(m_root, 0, start, static_cast<int>(tag), found_index);
}

usize RadixTree::gang_lookup(u64 start, void** items, u64* indices, usize max) const
{
    usize n = 0;
    u64 index;
    while (n < max) {
        void* item = find_next(start, index);
        if (!item)
            break;
        items[n] = item;
        if (indices)
            indices[n] = index;
        n++;
        if (index == ~0ul)
            break;
        start = index + 1;
    }
    return n;
}

usize RadixTree::gang_lookup_tagged(u64 start, Tag tag, void** items, u64* indices, usize max) const
{
    usize n = 0;
    u64 index;
    while (n < max) {
        void* item = find_next_tagged(start, tag, index);
        if (!item)
            break;
        items[n] = item;
        if (indices)
            indices[n] = index;
        n++;
        if (index == ~0ul)
            break;
        start = index + 1;
    }
    return n;
}

void RadixTree::free_subtree(Node* node)
{
    if (node->shift > 0) {
        for (u64 bits = node->present; bits; bits &= bits - 1)
            free_subtree(static_cast<Node*>(node->slots[__builtin_ctzl(bits)]));
    }
    free_node(node);
}

void RadixTree::clear()
{
    if (m_root)
        free_subtree(m_root);
    m_root = nullptr;
    m_size = 0;
}

unsigned RadixTree::height() const { return m_root ? m_root->shift / BITS_PER_LEVEL + 1 : 0; }

bool RadixTree::check_node(const Node* node, u64 base, usize& items, usize& nodes) const
{
    nodes++;
    if (node->present == 0)
        return false; // empty nodes are always freed
    for (unsigned slot = 0; slot < SLOTS; slot++) {
        const u64 bit = 1ul << slot;
        const bool used = node->slots[slot] != nullptr;
        if (used != ((node->present & bit) != 0))
            return false;
        if (!used) {
            for (unsigned t = 0; t < TAG_COUNT; t++) {
                if (node->tags[t] & bit)
                    return false;
            }
            continue;
        }
        if (node->shift == 0) {
            items++;
            continue;
        }
        const auto* child = static_cast<const Node*>(node->slots[slot]);
        if (child->parent != node || child->offset != slot || child->shift + BITS_PER_LEVEL != node->shift)
            return false;
        for (unsigned t = 0; t < TAG_COUNT; t++) {
            if (((node->tags[t] & bit) != 0) != (child->tags[t] != 0))
                return false;
        }
        if (!check_node(child, base + (static_cast<u64>(slot) << node->shift), items, nodes))
            return false;
    }
    return true;
}

bool RadixTree::check() const
{
    if (!m_root)
        return m_size == 0 && m_node_count == 0;
    if (m_root->parent)
        return false;
    // A root above shift 0 with only slot 0 used should have been shrunk.
    if (m_root->shift > 0 && m_root->present == 1)
        return false;
    usize items = 0;
    usize nodes = 0;
    if (!check_node(m_root, 0, items, nodes))
        return false;
    return items == m_size && nodes == m_node_count;
}
