// NumberedTable<T, N>: the objects of one kind that are up (NVMe
// controllers, virtio-blk disks), each with a small number that names it
// (nvme0, vda). A number is reserved when bring-up starts, so that two
// probes never pick the same name, and the object is published only when it
// is fully up, so that walkers of the table never see one half built. The
// lowest free number is taken: an object bound again gets back its name.
//
// Not locked itself: drivers keep it in a Guarded<> (kernel/sync/Guarded.h).
//
//   Guarded<NumberedTable<Disk, 8>> g_disks{LockRank::Registry, "virtio-blk disks"};
//   u32 index = TRY(g_disks.with([](auto& t) { return t.reserve(); }));
//   ... bring-up, using the name ...
//   g_disks.with([&](auto& t) { t.publish(index, disk); });  // or t.release(index) on failure
#pragma once

#include "kernel/lib/Result.h"
#include "kernel/lib/Types.h"

template <typename T, u32 N>
class NumberedTable {
    static_assert(N <= 64, "numbers are kept in a 64-bit mask");

public:
    // The lowest number neither published nor reserved; ENOSPC when all N are.
    Result<u32> reserve()
    {
        for (u32 index = 0; index < N; index++) {
            if (!(taken() & bit(index))) {
                m_reserved |= bit(index);
                return index;
            }
        }
        return Error::from_errno(ENOSPC);
    }
    // Give back a number reserved by a bring-up that failed.
    void release(u32 index) { m_reserved &= ~bit(index); }
    // `object` is up under the number it reserved.
    void publish(u32 index, T* object)
    {
        m_reserved &= ~bit(index);
        m_objects[m_count] = object;
        m_indices[m_count] = index;
        m_count++;
    }
    // Take `object` out; its number becomes free. False if it was not in.
    bool remove(const T* object)
    {
        for (u32 i = 0; i < m_count; i++) {
            if (m_objects[i] != object)
                continue;
            for (u32 j = i; j + 1 < m_count; j++) {
                m_objects[j] = m_objects[j + 1];
                m_indices[j] = m_indices[j + 1];
            }
            m_count--;
            m_objects[m_count] = nullptr;
            return true;
        }
        return false;
    }

    // Published objects, in the order they came up.
    u32 count() const { return m_count; }
    T* at(u32 position) const { return position < m_count ? m_objects[position] : nullptr; }

private:
    static constexpr u64 bit(u32 index) { return u64(1) << index; }
    u64 taken() const
    {
        u64 mask = m_reserved;
        for (u32 i = 0; i < m_count; i++)
            mask |= bit(m_indices[i]);
        return mask;
    }

    T* m_objects[N] = {};
    u32 m_indices[N] = {};
    u32 m_count = 0;
    u64 m_reserved = 0;
};
