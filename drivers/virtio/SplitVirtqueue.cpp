// Split virtqueue, driver side (virtio 1.2 §2.7). See SplitVirtqueue.h.
//
// Memory ordering. The device is another agent reading and writing this memory
// concurrently (a device model thread under QEMU, real DMA on hardware); x86
// keeps DMA coherent, so the rules are those of two CPUs:
//  - descriptors and avail->ring[] entries are plain stores, made visible by
//    the store-release of avail->idx (§2.7.13.3.1: barrier before idx);
//  - after the idx store, a full barrier before reading the device's
//    suppression state (avail_event or used->flags): otherwise the store can
//    sit in the store buffer while we read a stale "don't notify me", and the
//    device goes to sleep on an index it never sees change (§2.7.13.4);
//  - used->idx is read with acquire before the used elements it covers;
//  - re-enabling interrupts stores used_event (or clears the flag), then a
//    full barrier, then re-reads used->idx (the race §2.7.14 describes).
#include "drivers/virtio/SplitVirtqueue.h"

#include "kernel/lib/Atomic.h"
#include "kernel/lib/String.h"

namespace virtio {

namespace {

template <typename T> T load_acquire(const T* p) { return AtomicRef(*p).load(MemoryOrder::Acquire); }

template <typename T> T load_relaxed(const T* p) { return AtomicRef(*p).load(MemoryOrder::Relaxed); }

template <typename T> void store_release(T* p, T value) { AtomicRef(*p).store(value, MemoryOrder::Release); }

template <typename T> void store_relaxed(T* p, T value) { AtomicRef(*p).store(value, MemoryOrder::Relaxed); }

inline void full_barrier() { atomic_thread_fence(MemoryOrder::SeqCst); }

constexpr bool is_power_of_two(u32 v) { return v && !(v & (v - 1)); }

} // namespace

Result<void> SplitVirtqueue::validate(
    const Options& options, const DmaRegion& ring, const DmaRegion& indirect_pool)
{
    if (!is_power_of_two(options.size) || options.size > SPLIT_QUEUE_MAX_SIZE)
        return Error::from_errno(EINVAL);
    if (!ring.virt || ring.size_bytes < ring_bytes(options.size))
        return Error::from_errno(EINVAL);
    if (!is_aligned(ring.phys, PhysAddr(DESCRIPTOR_TABLE_ALIGN))
        || !is_aligned(reinterpret_cast<uptr>(ring.virt), uptr(DESCRIPTOR_TABLE_ALIGN)))
        return Error::from_errno(EINVAL);
    // §2.7.5: the queue size bounds the length of any chain, indirect or not.
    if (options.max_indirect_entries > options.size || options.max_indirect_entries == 1)
        return Error::from_errno(EINVAL);
    if (options.max_indirect_entries) {
        if (!indirect_pool.virt || indirect_pool.size_bytes < indirect_pool_bytes(options))
            return Error::from_errno(EINVAL);
        if (!is_aligned(indirect_pool.phys, PhysAddr(DESCRIPTOR_TABLE_ALIGN)))
            return Error::from_errno(EINVAL);
    }
    return {};
}

SplitVirtqueue::SplitVirtqueue(
    const Options& options, const DmaRegion& ring, const DmaRegion& indirect_pool, DescriptorState* state)
    : m_state(state)
    , m_size(options.size)
    , m_max_indirect(options.max_indirect_entries)
    , m_event_idx(options.event_idx)
{
    if (validate(options, ring, indirect_pool).is_error() || !state) {
        m_broken = true;
        m_size = 0;
        return;
    }
    RingLayout layout = ring_layout(m_size);
    auto* base = static_cast<u8*>(ring.virt);
    m_descriptors = reinterpret_cast<Descriptor*>(base + layout.descriptors_offset);
    m_avail = reinterpret_cast<AvailRing*>(base + layout.avail_offset);
    m_used = reinterpret_cast<UsedRing*>(base + layout.used_offset);
    m_used_event = &m_avail->ring[m_size];
    m_avail_event = reinterpret_cast<u16*>(&m_used->ring[m_size]);
    m_ring_phys = ring.phys;
    m_ring_bytes = layout.total_bytes;
    if (m_max_indirect) {
        m_indirect = static_cast<Descriptor*>(indirect_pool.virt);
        m_indirect_phys = indirect_pool.phys;
    }
    reset_rings();
}

void SplitVirtqueue::reset_rings()
{
    // §2.7: a freshly reset device starts at index 0 on both rings and reads
    // used_event 0, i.e. "interrupt me for the first used buffer".
    memset(m_descriptors, 0, m_ring_bytes);
    for (u16 i = 0; i < m_size; i++)
        m_state[i] = { nullptr, u16(i + 1), 0 };
    m_free_head = 0;
    m_num_free = m_size;
    m_in_flight = 0;
    m_avail_idx = 0;
    m_published_idx = 0;
    m_last_used_idx = 0;
    m_interrupts_enabled = true;
}

Result<void> SplitVirtqueue::check_room(usize count, void* token) const
{
    if (m_broken)
        return Error::from_errno(EIO);
    if (count == 0 || !token)
        return Error::from_errno(EINVAL);
    // §2.7.5: a chain is at most as long as the queue.
    if (!uses_indirect(count) && count > m_size)
        return Error::from_errno(EINVAL);
    const usize needed = uses_indirect(count) ? 1 : count;
    if (needed > m_num_free)
        return Error::from_errno(ENOSPC);
    return {};
}

SplitVirtqueue::ChainWriter SplitVirtqueue::begin_chain(usize count)
{
    const u16 head = m_free_head;
    return ChainWriter{
        .queue = this,
        .table = uses_indirect(count) ? indirect_table(head) : nullptr,
        .count = count,
        .head = head,
        .next_index = head,
    };
}

bool SplitVirtqueue::ChainWriter::write(const Segment& segment)
{
    // §2.7.4.2: device-writable buffers follow every device-readable one.
    // §2.7.5.2: a chain is at most 2^32 bytes long in total.
    if (segment.length_bytes == 0 || (seen_writable && !segment.device_writes))
        return false;
    seen_writable |= segment.device_writes;
    total_bytes += segment.length_bytes;
    if (total_bytes > u64(0xffffffff))
        return false;

    const bool last = written + 1 == count;
    const u16 flags = u16((segment.device_writes ? DESC_F_WRITE : 0) | (last ? 0 : DESC_F_NEXT));
    if (table) {
        // §2.7.5.3.1: the table's descriptors chain from 0 through `next`,
        // and none of them is itself INDIRECT.
        Descriptor& descriptor = table[written];
        descriptor.addr = segment.phys;
        descriptor.len = segment.length_bytes;
        descriptor.flags = flags;
        descriptor.next = last ? 0 : u16(written + 1);
    } else {
        // Direct chains take descriptors off the free list in list order, so
        // the chain's links are the free-list links already in m_state.
        Descriptor& descriptor = queue->m_descriptors[next_index];
        const u16 successor = queue->m_state[next_index].next;
        descriptor.addr = segment.phys;
        descriptor.len = segment.length_bytes;
        descriptor.flags = flags;
        descriptor.next = last ? 0 : successor;
        next_index = successor;
    }
    written++;
    return true;
}

Result<u16> SplitVirtqueue::commit_chain(const ChainWriter& writer, void* token)
{
    const u16 head = writer.head;
    u16 needed;
    if (writer.table) {
        // §2.7.5.3.1: the ring descriptor pointing at the table carries
        // INDIRECT alone (never NEXT; WRITE is meaningless on it).
        Descriptor& descriptor = m_descriptors[head];
        descriptor.addr = indirect_table_phys(head);
        descriptor.len = u32(writer.count * sizeof(Descriptor));
        descriptor.flags = DESC_F_INDIRECT;
        descriptor.next = 0;
        m_free_head = m_state[head].next;
        needed = 1;
    } else {
        m_free_head = writer.next_index;
        needed = u16(writer.count);
    }
    m_num_free = u16(m_num_free - needed);
    m_state[head].token = token;
    m_state[head].ring_descriptors = needed;

    // §2.7.13.2: the head goes into the next ring slot; the device sees it
    // only when publish() moves avail->idx past it. Slots cannot collide with
    // ones the device has yet to read: every unread slot holds a descriptor.
    m_avail->ring[m_avail_idx & (m_size - 1)] = head;
    m_avail_idx++;
    m_in_flight++;
    return head;
}

bool SplitVirtqueue::publish()
{
    if (m_broken)
        return false;
    const u16 old_idx = m_published_idx;
    const u16 new_idx = m_avail_idx;
    if (old_idx == new_idx)
        return false;
    // §2.7.13.3.1: descriptors and ring entries before the index.
    store_release(&m_avail->idx, new_idx);
    m_published_idx = new_idx;
    // §2.7.13.4.1: the index must be visible before we look at whether the
    // device asked to be notified (see the file comment).
    full_barrier();
    if (m_event_idx)
        return need_event(load_relaxed(m_avail_event), new_idx, old_idx);
    return !(load_relaxed(&m_used->flags) & USED_F_NO_NOTIFY);
}

bool SplitVirtqueue::has_used() const { return !m_broken && load_acquire(&m_used->idx) != m_last_used_idx; }

bool SplitVirtqueue::pop_used(UsedBuffer& out)
{
    if (m_broken)
        return false;
    const u16 used_idx = load_acquire(&m_used->idx);
    if (used_idx == m_last_used_idx)
        return false;
    // The device cannot have used more chains than are in flight.
    if (u16(used_idx - m_last_used_idx) > m_in_flight) {
        m_broken = true;
        return false;
    }
    const UsedElement* element = &m_used->ring[m_last_used_idx & (m_size - 1)];
    const u32 id = load_relaxed(&element->id);
    const u32 written_bytes = load_relaxed(&element->len);
    if (id >= m_size || !m_state[id].token) {
        m_broken = true;
        return false;
    }
    m_last_used_idx++;
    if (m_event_idx && !m_interrupts_enabled)
        park_used_event();
    out.token = m_state[id].token;
    out.written_bytes = written_bytes;
    free_chain(u16(id));
    m_in_flight--;
    return true;
}

void SplitVirtqueue::free_chain(u16 head)
{
    DescriptorState& head_state = m_state[head];
    u16 tail = head;
    for (u16 i = 1; i < head_state.ring_descriptors; i++)
        tail = m_state[tail].next;
    m_state[tail].next = m_free_head;
    m_free_head = head;
    m_num_free = u16(m_num_free + head_state.ring_descriptors);
    head_state.token = nullptr;
    head_state.ring_descriptors = 0;
}

// §2.7.7: with EVENT_IDX the device interrupts when used->idx crosses
// used_event, and there is no "off" switch. Park used_event half the 16-bit
// index space ahead of m_last_used_idx: the device's index is never more than
// one queue size away from it, so (for queues up to 16384 entries) no batch
// crosses it. pop_used() moves it along while interrupts stay off, so polling
// forever never wraps into it either. (Writing 0, the simple choice, fires an
// interrupt every time the index wraps through 0.)
void SplitVirtqueue::park_used_event() { store_relaxed(m_used_event, u16(m_last_used_idx + 0x8000)); }

void SplitVirtqueue::disable_interrupts()
{
    if (m_broken || !m_interrupts_enabled)
        return;
    m_interrupts_enabled = false;
    if (m_event_idx) {
        park_used_event();
    } else {
        store_relaxed(&m_avail->flags, AVAIL_F_NO_INTERRUPT);
    }
}

bool SplitVirtqueue::enable_interrupts()
{
    if (m_broken)
        return true;
    m_interrupts_enabled = true;
    if (m_event_idx)
        store_relaxed(m_used_event, m_last_used_idx); // interrupt for the very next used buffer
    else
        store_relaxed(&m_avail->flags, u16(0));
    // Make the request visible before checking for buffers used meanwhile: a
    // device that pushed one before seeing it did not interrupt.
    full_barrier();
    return load_acquire(&m_used->idx) == m_last_used_idx;
}

SplitVirtqueue::Snapshot SplitVirtqueue::snapshot() const
{
    if (!m_size)
        return {};
    return { m_avail_idx, m_published_idx, load_acquire(&m_used->idx), m_last_used_idx, load_relaxed(m_avail_event),
        load_relaxed(m_used_event), load_relaxed(&m_avail->flags), load_relaxed(&m_used->flags) };
}

void* SplitVirtqueue::detach_unused()
{
    for (u16 i = 0; i < m_size; i++) {
        if (!m_state[i].token)
            continue;
        void* token = m_state[i].token;
        free_chain(i);
        m_in_flight--;
        return token;
    }
    return nullptr;
}

void SplitVirtqueue::reinitialize()
{
    if (!m_size)
        return;
    m_broken = false;
    reset_rings();
}

} // namespace virtio
