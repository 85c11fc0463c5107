// Test doubles for the virtio host tests: fake DMA memory (an arena whose
// "physical" addresses are offsets from a base far from any host pointer) and
// the device side of a split virtqueue, written from the spec (virtio 1.2
// §2.7) independently of the driver code under test. The device checks every
// rule the driver must follow and reports violations as test failures.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <optional>
#include <vector>

#include "drivers/virtio/SplitRing.h"
#include "drivers/virtio/SplitVirtqueue.h"
#include "kernel/lib/Atomic.h"

namespace fake {

// Guest "physical" memory: phys = BASE + offset into the arena.
class DmaArena {
public:
    static constexpr PhysAddr BASE = 0x40000000ul;

    explicit DmaArena(usize size_bytes)
        : m_size(align_up(size_bytes, usize(4096)))
    {
        m_memory = static_cast<u8*>(std::aligned_alloc(4096, m_size));
        std::memset(m_memory, 0xa5, m_size); // garbage: the queue must zero what it uses
    }
    ~DmaArena() { std::free(m_memory); }
    DmaArena(const DmaArena&) = delete;
    DmaArena& operator=(const DmaArena&) = delete;

    virtio::DmaRegion allocate(usize size_bytes, usize align = 64)
    {
        m_used = align_up(m_used, align);
        EXPECT_LE(m_used + size_bytes, m_size) << "fake DMA arena exhausted";
        virtio::DmaRegion region{ m_memory + m_used, BASE + m_used, size_bytes };
        m_used += size_bytes;
        return region;
    }

    // The device's view: a bus address to a host pointer, checking bounds.
    template <typename T = u8> T* at(PhysAddr phys, usize length_bytes = sizeof(T))
    {
        if (phys < BASE || phys - BASE + length_bytes > m_size) {
            ADD_FAILURE() << "device access outside DMA memory: phys " << std::hex << phys;
            return nullptr;
        }
        return reinterpret_cast<T*>(m_memory + (phys - BASE));
    }

    PhysAddr phys_of(const void* pointer) const
    {
        return BASE + (static_cast<const u8*>(pointer) - m_memory);
    }

private:
    u8* m_memory;
    usize m_size;
    usize m_used = 0;
};

// The device side of one split virtqueue.
class SplitDevice {
public:
    struct Buffer {
        PhysAddr phys;
        u32 len;
        bool device_writes;
    };
    struct Chain {
        u16 head;
        bool indirect;
        std::vector<Buffer> buffers;
    };

    SplitDevice(DmaArena& dma, const virtio::SplitVirtqueue& queue)
        : m_dma(dma)
        , m_size(queue.size())
        , m_event_idx(queue.event_idx())
    {
        m_descriptors = dma.at<virtio::Descriptor>(queue.descriptor_table_phys(), 16 * m_size);
        m_avail = dma.at<virtio::AvailRing>(queue.driver_area_phys(), virtio::avail_ring_bytes(m_size));
        m_used = dma.at<virtio::UsedRing>(queue.device_area_phys(), virtio::used_ring_bytes(m_size));
        m_used_event = &m_avail->ring[m_size];
        m_avail_event = reinterpret_cast<u16*>(&m_used->ring[m_size]);
    }

    // Chains the driver has published and the device has not taken yet.
    u16 pending() const { return u16(load(&m_avail->idx) - m_last_avail); }

    // §2.7.13: take the next published chain, validating it as a device must.
    std::optional<Chain> pop()
    {
        const u16 avail_idx = AtomicRef(m_avail->idx).load(MemoryOrder::Acquire);
        if (avail_idx == m_last_avail)
            return std::nullopt;
        const u16 head = load(&m_avail->ring[m_last_avail & (m_size - 1)]);
        m_last_avail++;
        if (m_event_idx)
            store(m_avail_event, m_last_avail); // notify me when anything new arrives
        EXPECT_LT(head, m_size);
        Chain chain{ head, false, {} };
        walk(chain, m_descriptors, m_size, head, true);
        return chain;
    }

    // Publish `written` for `head` (not visible until flush()).
    void complete(u16 head, u32 written)
    {
        virtio::UsedElement* element = &m_used->ring[m_used_shadow & (m_size - 1)];
        store(&element->id, u32(head));
        store(&element->len, written);
        m_used_shadow++;
    }

    // Make completed chains visible; returns whether the driver asked for an
    // interrupt (§2.7.7.2), and counts interrupts.
    bool flush()
    {
        const u16 old_idx = load(&m_used->idx);
        const u16 new_idx = m_used_shadow;
        if (old_idx == new_idx)
            return false;
        AtomicRef(m_used->idx).store(new_idx, MemoryOrder::Release);
        atomic_thread_fence(MemoryOrder::SeqCst);
        bool interrupt;
        if (m_event_idx)
            interrupt = virtio::need_event(load(m_used_event), new_idx, old_idx);
        else
            interrupt = !(load(&m_avail->flags) & virtio::AVAIL_F_NO_INTERRUPT);
        if (interrupt)
            interrupts++;
        return interrupt;
    }

    // Without EVENT_IDX: ask the driver not to notify (§2.7.10).
    void set_no_notify(bool on) { store(&m_used->flags, u16(on ? virtio::USED_F_NO_NOTIFY : 0)); }
    // With EVENT_IDX: ask to be notified once avail->idx passes `idx`.
    void set_avail_event(u16 idx) { store(m_avail_event, idx); }
    // Before sleeping: ask for a notification for anything new, then look again
    // (the device half of the race the driver's full barrier closes).
    bool arm_notification_and_recheck()
    {
        if (m_event_idx)
            store(m_avail_event, m_last_avail);
        else
            set_no_notify(false);
        atomic_thread_fence(MemoryOrder::SeqCst);
        return AtomicRef(m_avail->idx).load(MemoryOrder::Acquire) == m_last_avail;
    }

    u16 used_event() const { return load(m_used_event); }
    u16 avail_flags() const { return load(&m_avail->flags); }
    u16 avail_idx() const { return load(&m_avail->idx); }
    u16 used_idx() const { return load(&m_used->idx); }

    u64 interrupts = 0;

private:
    template <typename T> static T load(const T* p) { return AtomicRef(*p).load(MemoryOrder::Relaxed); }
    template <typename T> static void store(T* p, T v) { AtomicRef(*p).store(v, MemoryOrder::Relaxed); }

    void walk(Chain& chain, const virtio::Descriptor* table, u32 table_size, u16 index, bool in_ring)
    {
        bool seen_writable = !chain.buffers.empty() && chain.buffers.back().device_writes;
        for (u32 steps = 0;; steps++) {
            if (steps >= table_size) {
                ADD_FAILURE() << "descriptor chain loops or is longer than its table";
                return;
            }
            if (index >= table_size) {
                ADD_FAILURE() << "descriptor index " << index << " out of range " << table_size;
                return;
            }
            const virtio::Descriptor d = table[index];
            if (d.flags & virtio::DESC_F_INDIRECT) {
                // §2.7.5.3.1: only in the ring, alone, never with NEXT.
                EXPECT_TRUE(in_ring) << "nested indirect table";
                EXPECT_FALSE(d.flags & virtio::DESC_F_NEXT) << "INDIRECT together with NEXT";
                EXPECT_TRUE(chain.buffers.empty()) << "indirect table after direct descriptors";
                EXPECT_EQ(d.len % sizeof(virtio::Descriptor), 0u);
                EXPECT_GT(d.len, 0u);
                EXPECT_EQ(d.addr % 16, 0u) << "indirect table misaligned";
                chain.indirect = true;
                const u32 entries = d.len / sizeof(virtio::Descriptor);
                const auto* indirect = m_dma.at<virtio::Descriptor>(d.addr, d.len);
                if (indirect)
                    walk(chain, indirect, entries, 0, false);
                return;
            }
            EXPECT_GT(d.len, 0u);
            const bool writes = d.flags & virtio::DESC_F_WRITE;
            EXPECT_FALSE(seen_writable && !writes) << "device-readable buffer after a writable one";
            seen_writable |= writes;
            EXPECT_NE(m_dma.at(d.addr, d.len), nullptr);
            chain.buffers.push_back({ d.addr, d.len, writes });
            if (!(d.flags & virtio::DESC_F_NEXT))
                return;
            index = d.next;
        }
    }

    DmaArena& m_dma;
    u16 m_size;
    bool m_event_idx;
    virtio::Descriptor* m_descriptors;
    virtio::AvailRing* m_avail;
    virtio::UsedRing* m_used;
    u16* m_used_event;
    u16* m_avail_event;
    u16 m_last_avail = 0;
    u16 m_used_shadow = 0;
};

// A queue with its memory, as the transport would set it up.
struct QueueFixture {
    DmaArena dma;
    std::vector<virtio::SplitVirtqueue::DescriptorState> state;
    virtio::SplitVirtqueue queue;

    static virtio::SplitVirtqueue::Options options(u16 size, bool event_idx, u16 max_indirect)
    {
        virtio::SplitVirtqueue::Options o;
        o.size = size;
        o.event_idx = event_idx;
        o.max_indirect_entries = max_indirect;
        return o;
    }

    QueueFixture(u16 size, bool event_idx, u16 max_indirect, usize data_bytes = 1 << 20)
        : dma(virtio::SplitVirtqueue::ring_bytes(size)
            + virtio::SplitVirtqueue::indirect_pool_bytes(options(size, event_idx, max_indirect)) + data_bytes
            + 4096)
        , state(size)
        , queue(options(size, event_idx, max_indirect),
              dma.allocate(virtio::SplitVirtqueue::ring_bytes(size), 4096),
              dma.allocate(
                  virtio::SplitVirtqueue::indirect_pool_bytes(options(size, event_idx, max_indirect)), 16),
              state.data())
    {
    }
};

} // namespace fake
