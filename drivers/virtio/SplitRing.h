// Wire layout of a split virtqueue (virtio 1.2 §2.7): the descriptor table,
// the available ring (driver area) and the used ring (device area), and the
// event-index rule both sides use to suppress notifications.
//
// Everything here is shared with the device and little-endian (§1.4); x86-64
// is little-endian, so fields are plain integers.
#pragma once

#include "kernel/lib/Types.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "virtio 1.x structures are little-endian");

namespace virtio {

// §2.7: "Queue Size ... The maximum Queue Size value is 32768" for split rings,
// and it is a power of two.
constexpr u16 SPLIT_QUEUE_MAX_SIZE = 32768;

// §2.7 table "Virtqueue Part Alignment": descriptor table 16, available ring 2,
// used ring 4 bytes.
constexpr usize DESCRIPTOR_TABLE_ALIGN = 16;
constexpr usize AVAIL_RING_ALIGN = 2;
constexpr usize USED_RING_ALIGN = 4;

// §2.7.5 The Virtqueue Descriptor Table.
constexpr u16 DESC_F_NEXT = 1; // the chain continues in `next`
constexpr u16 DESC_F_WRITE = 2; // device writes this buffer (otherwise it reads it)
constexpr u16 DESC_F_INDIRECT = 4; // §2.7.5.3: the buffer is a table of descriptors

struct Descriptor {
    u64 addr; // guest-physical address of the buffer
    u32 len; // bytes
    u16 flags;
    u16 next;
};
static_assert(sizeof(Descriptor) == 16);
static_assert(__builtin_offsetof(Descriptor, len) == 8);
static_assert(__builtin_offsetof(Descriptor, flags) == 12);
static_assert(__builtin_offsetof(Descriptor, next) == 14);

// §2.7.6 The Virtqueue Available Ring: flags, idx, ring[size], then used_event
// (only meaningful with VIRTIO_F_EVENT_IDX).
constexpr u16 AVAIL_F_NO_INTERRUPT = 1; // §2.7.7: hint, ignored with EVENT_IDX

struct AvailRing {
    u16 flags;
    u16 idx; // where the driver puts the next entry (mod size); free-running
    u16 ring[]; // `size` heads, then u16 used_event
};
static_assert(sizeof(AvailRing) == 4);

constexpr usize avail_ring_bytes(u16 size) { return sizeof(AvailRing) + 2 * usize(size) + sizeof(u16); }

// §2.7.8 The Virtqueue Used Ring: flags, idx, ring[size] of (id, len), then
// avail_event (only meaningful with VIRTIO_F_EVENT_IDX).
constexpr u16 USED_F_NO_NOTIFY = 1; // §2.7.10: hint, ignored with EVENT_IDX

struct UsedElement {
    u32 id; // head of the chain the device finished (u32 for padding reasons, §2.7.8)
    u32 len; // bytes the device wrote into the device-writable part of the chain
};
static_assert(sizeof(UsedElement) == 8);

struct UsedRing {
    u16 flags;
    u16 idx;
    UsedElement ring[]; // `size` elements, then u16 avail_event
};
static_assert(sizeof(UsedRing) == 4);

constexpr usize used_ring_bytes(u16 size) { return sizeof(UsedRing) + 8 * usize(size) + sizeof(u16); }

// Where the three parts sit when one contiguous DMA region holds them. The
// spec only asks for 4-byte alignment of the used ring; it starts on its own
// cache line here so the device's writes to it never share a line with the
// driver's writes to the available ring.
constexpr usize USED_RING_PLACEMENT_ALIGN = 64;

struct RingLayout {
    usize descriptors_offset;
    usize avail_offset;
    usize used_offset;
    usize total_bytes;
};

constexpr RingLayout ring_layout(u16 size)
{
    RingLayout layout{};
    layout.descriptors_offset = 0;
    layout.avail_offset = sizeof(Descriptor) * usize(size);
    layout.used_offset = align_up(layout.avail_offset + avail_ring_bytes(size), USED_RING_PLACEMENT_ALIGN);
    layout.total_bytes = layout.used_offset + used_ring_bytes(size);
    return layout;
}

static_assert(ring_layout(256).avail_offset % AVAIL_RING_ALIGN == 0);
static_assert(ring_layout(256).used_offset % USED_RING_ALIGN == 0);
static_assert(ring_layout(256).total_bytes == 4096 + 576 + 2054);

// §2.7.7.2 / §2.7.10.2 (and the spec's vring_need_event): the other side asked
// to be told once the index it watches moves past `event_idx`. Having just
// moved the index from `old_idx` to `new_idx`, notify iff event_idx lies in
// [old_idx, new_idx), computed modulo 2^16 so it holds across wrap-around.
constexpr bool need_event(u16 event_idx, u16 new_idx, u16 old_idx)
{
    return u16(new_idx - event_idx - 1) < u16(new_idx - old_idx);
}

} // namespace virtio
