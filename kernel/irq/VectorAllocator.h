// Per-CPU interrupt vector allocation, for MSI/MSI-X users and anything else
// that needs a vector of its own.
//
// Every CPU has its own set of vectors (a vector number means nothing without
// the CPU it is delivered to), so a device with one queue per CPU gets one
// vector on each CPU, usually the same number. The allocator is plain data
// with no locking and no hardware access: kernel/irq/Irq.cpp holds the lock,
// and host tests exercise it directly.
#pragma once

#include "kernel/lib/Result.h"
#include "kernel/lib/Types.h"

class VectorAllocator {
public:
    static constexpr u32 MAX_CPUS = 64;

    // Vectors [first, last] are allocatable on each of `cpu_count` CPUs.
    VectorAllocator(u32 cpu_count, u8 first, u8 last);

    // The lowest free vector on `cpu`. ENOSPC when none is left, EINVAL for
    // a CPU out of range.
    Result<u8> allocate(u32 cpu);

    // One vector on each of cpus[0..count): vectors_out[i] is on cpus[i].
    // All or nothing: on failure nothing stays allocated. The same CPU may
    // appear more than once (several queues on one CPU).
    Result<void> allocate_many(const u32* cpus, usize count, u8* vectors_out);

    // `count` (a power of two, at most 32) consecutive vectors on `cpu`, the
    // first aligned to `count`, as multi-message MSI requires (PCI Local Bus
    // 3.0 §6.8.1.6: the device ORs the message number into the low bits).
    Result<u8> allocate_block(u32 cpu, u32 count);

    // EINVAL when the vector was not allocated (double free, wrong CPU).
    Result<void> free(u32 cpu, u8 vector);

    bool is_allocated(u32 cpu, u8 vector) const;
    u32 free_count(u32 cpu) const;
    u32 cpu_count() const { return m_cpu_count; }
    u8 first() const { return m_first; }
    u8 last() const { return m_last; }

private:
    bool in_range(u8 vector) const { return vector >= m_first && vector <= m_last; }
    void set(u32 cpu, u8 vector, bool used);

    u32 m_cpu_count;
    u8 m_first;
    u8 m_last;
    u64 m_used[MAX_CPUS][4] = {}; // one bit per vector 0..255
};
