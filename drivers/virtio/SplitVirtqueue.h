// The driver side of one split virtqueue (virtio 1.2 §2.7): descriptor
// allocation, chains (direct or through an indirect table), the available ring
// with its barriers, harvesting the used ring, and both kinds of notification
// suppression (flags, or event indices with VIRTIO_F_EVENT_IDX).
//
// The class knows nothing of PCI or of the device type: the transport maps the
// memory, tells the device where the rings are and writes the notify register
// when publish() says so; a device driver (virtio-blk) turns its requests into
// chains of Segments. It touches only memory it was given, so the host tests
// drive it against ordinary heap memory and a fake device.
//
// Not internally locked: the owner (one hardware queue) serializes every call.
//
// Indirect descriptor policy: with VIRTIO_F_INDIRECT_DESC, every chain of two
// or more segments that fits in `max_indirect_entries` goes into an indirect
// table and takes exactly one descriptor of the ring, so a queue of size N
// holds N requests in flight whatever their segment counts. Indirect tables
// are preallocated, one per ring descriptor (the table of the chain whose head
// is descriptor h is table h), so adding a chain never allocates. Single
// segments, and chains longer than the table, use direct descriptors.
#pragma once

#include "drivers/virtio/SplitRing.h"
#include "kernel/lib/Result.h"
#include "kernel/lib/Types.h"

namespace virtio {

// Memory both the CPU and the device see: a kernel virtual address and the
// bus (physical) address the device uses for the same bytes.
struct DmaRegion {
    void* virt = nullptr;
    PhysAddr phys = 0;
    usize size_bytes = 0;
};

// One buffer of a chain. Device-readable segments come first (§2.7.4.2).
struct Segment {
    PhysAddr phys;
    u32 length_bytes;
    bool device_writes;
};

// What pop_used() hands back: the token given to add_chain() and how many
// bytes the device says it wrote into the chain's writable part.
struct UsedBuffer {
    void* token;
    u32 written_bytes;
};

class SplitVirtqueue {
public:
    struct Options {
        u16 size = 0; // entries: a power of two, at most SPLIT_QUEUE_MAX_SIZE
        bool event_idx = false; // VIRTIO_F_EVENT_IDX was negotiated
        u16 max_indirect_entries = 0; // 0: VIRTIO_F_INDIRECT_DESC not negotiated
    };

    // Driver-private bookkeeping per ring descriptor (the caller allocates
    // `size` of them). Kept out of the shared descriptor table so that a
    // misbehaving device cannot corrupt the free list.
    struct DescriptorState {
        void* token; // non-null on the head of an in-flight chain
        u16 next; // free-list link; a direct chain's links too
        u16 ring_descriptors; // on a head: how many ring descriptors the chain holds
    };

    // Bytes of the one region holding descriptor table, available ring and
    // used ring (see ring_layout()), and of the indirect table pool.
    static usize ring_bytes(u16 size) { return ring_layout(size).total_bytes; }
    static usize indirect_pool_bytes(const Options& options)
    {
        return usize(options.size) * options.max_indirect_entries * sizeof(Descriptor);
    }
    // Checks what the constructor assumes: EINVAL for a bad size, a small or
    // misaligned region, or an indirect table longer than the queue.
    static Result<void> validate(
        const Options& options, const DmaRegion& ring, const DmaRegion& indirect_pool);

    // Zeroes the rings. The arguments must have passed validate(); otherwise
    // the queue starts out broken and refuses every operation.
    SplitVirtqueue(const Options& options, const DmaRegion& ring, const DmaRegion& indirect_pool,
        DescriptorState* state);
    SplitVirtqueue(const SplitVirtqueue&) = delete;
    SplitVirtqueue& operator=(const SplitVirtqueue&) = delete;

    // Put a chain on the available ring (not yet visible to the device: see
    // publish()). Returns the head descriptor index. ENOSPC: not enough free
    // descriptors now (retry after harvesting). EINVAL: the chain can never be
    // added (empty, zero-length segment, readable after writable, longer than
    // the queue, over 4 GiB). EIO: the queue is broken.
    //
    // `segment_at(i)` returns segment i; it is called exactly once for each i,
    // in increasing order, so a caller can walk its own scatter list without
    // first copying it into an array. On error nothing has been consumed.
    template <typename SegmentAt> Result<u16> add_chain(usize count, void* token, SegmentAt&& segment_at)
    {
        TRY(check_room(count, token));
        ChainWriter writer = begin_chain(count);
        for (usize i = 0; i < count; i++) {
            if (!writer.write(segment_at(i)))
                return Error::from_errno(EINVAL);
        }
        return commit_chain(writer, token);
    }
    Result<u16> add_chain(const Segment* segments, usize count, void* token)
    {
        return add_chain(count, token, [segments](usize i) { return segments[i]; });
    }

    // Make every chain added since the last publish() visible to the device
    // (one index update per batch) and return whether the device wants a
    // notification: with EVENT_IDX when the new entries cross its avail_event,
    // otherwise unless it set VIRTQ_USED_F_NO_NOTIFY.
    bool publish();
    bool has_unpublished() const { return m_avail_idx != m_published_idx; }

    // Take the next used buffer, oldest first; false when there is none. A
    // used id that is not the head of an in-flight chain breaks the queue.
    bool pop_used(UsedBuffer& out);
    bool has_used() const;

    // Interrupt (used buffer notification) suppression. The completion path
    // runs   do { while (pop_used(b)) ...; } while (!enable_interrupts());
    // enable_interrupts() returns false when buffers were used while
    // interrupts were off, so none is left behind without an interrupt.
    void disable_interrupts();
    bool enable_interrupts();
    bool interrupts_enabled() const { return m_interrupts_enabled; }

    // After a device reset only: take back one chain the device will never
    // complete (nullptr when none is left), then reinitialize() before the
    // queue is handed to the device again.
    void* detach_unused();
    void reinitialize();

    // Ring indices for diagnostics (a stalled queue's timeout report).
    struct Snapshot {
        u16 avail_idx, published_idx, used_idx, last_used_idx, avail_event, used_event, avail_flags, used_flags;
    };
    Snapshot snapshot() const;

    u16 size() const { return m_size; }
    u16 free_descriptors() const { return m_num_free; }
    u16 in_flight() const { return m_in_flight; }
    bool is_broken() const { return m_broken; }
    bool event_idx() const { return m_event_idx; }
    u16 max_indirect_entries() const { return m_max_indirect; }

    // Addresses for the transport's queue_desc / queue_driver / queue_device.
    PhysAddr descriptor_table_phys() const { return m_ring_phys + ring_layout(m_size).descriptors_offset; }
    PhysAddr driver_area_phys() const { return m_ring_phys + ring_layout(m_size).avail_offset; }
    PhysAddr device_area_phys() const { return m_ring_phys + ring_layout(m_size).used_offset; }

private:
    // Where the descriptors of the chain being added go: consecutive entries
    // of an indirect table, or ring descriptors along the free list.
    struct ChainWriter {
        SplitVirtqueue* queue;
        Descriptor* table; // indirect table, or nullptr for a direct chain
        usize count;
        usize written = 0;
        u16 head;
        u16 next_index; // direct chains: the ring descriptor written next
        u64 total_bytes = 0;
        bool seen_writable = false;

        bool write(const Segment& segment);
    };

    Result<void> check_room(usize count, void* token) const;
    ChainWriter begin_chain(usize count);
    Result<u16> commit_chain(const ChainWriter& writer, void* token);
    bool uses_indirect(usize count) const { return count > 1 && count <= m_max_indirect; }

    void reset_rings();
    void park_used_event();
    void free_chain(u16 head);
    Descriptor* indirect_table(u16 head) const { return m_indirect + usize(head) * m_max_indirect; }
    PhysAddr indirect_table_phys(u16 head) const
    {
        return m_indirect_phys + usize(head) * m_max_indirect * sizeof(Descriptor);
    }

    // Shared with the device.
    Descriptor* m_descriptors = nullptr;
    AvailRing* m_avail = nullptr;
    UsedRing* m_used = nullptr;
    u16* m_used_event = nullptr; // after avail->ring[size]: written by the driver
    u16* m_avail_event = nullptr; // after used->ring[size]: written by the device
    Descriptor* m_indirect = nullptr;
    PhysAddr m_ring_phys = 0;
    PhysAddr m_indirect_phys = 0;
    usize m_ring_bytes = 0;

    // Driver-private.
    DescriptorState* m_state = nullptr;
    u16 m_size = 0;
    u16 m_max_indirect = 0;
    bool m_event_idx = false;
    bool m_broken = false;
    bool m_interrupts_enabled = true;
    u16 m_free_head = 0; // first free descriptor; m_size when none
    u16 m_num_free = 0;
    u16 m_in_flight = 0; // chains added and not yet harvested
    u16 m_avail_idx = 0; // next available ring slot (free-running)
    u16 m_published_idx = 0; // avail->idx as last written
    u16 m_last_used_idx = 0; // next used ring entry to harvest (free-running)
};

} // namespace virtio
