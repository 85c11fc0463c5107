#include "kernel/irq/VectorAllocator.h"

VectorAllocator::VectorAllocator(u32 cpu_count, u8 first, u8 last)
    : m_cpu_count(min(cpu_count, MAX_CPUS))
    , m_first(first)
    , m_last(last)
{
}

bool VectorAllocator::is_allocated(u32 cpu, u8 vector) const
{
    if (cpu >= m_cpu_count)
        return false;
    return (m_used[cpu][vector / 64] >> (vector % 64)) & 1;
}

void VectorAllocator::set(u32 cpu, u8 vector, bool used)
{
    u64 bit = 1ul << (vector % 64);
    if (used)
        m_used[cpu][vector / 64] |= bit;
    else
        m_used[cpu][vector / 64] &= ~bit;
}

u32 VectorAllocator::free_count(u32 cpu) const
{
    if (cpu >= m_cpu_count)
        return 0;
    u32 n = 0;
    for (u32 v = m_first; v <= m_last; v++)
        n += is_allocated(cpu, static_cast<u8>(v)) ? 0 : 1;
    return n;
}

Result<u8> VectorAllocator::allocate(u32 cpu)
{
    return allocate_block(cpu, 1);
}

Result<u8> VectorAllocator::allocate_block(u32 cpu, u32 count)
{
    if (cpu >= m_cpu_count || count == 0 || count > 32 || (count & (count - 1)) != 0)
        return Error::from_errno(EINVAL);
    u32 start = align_up<u32>(m_first, count);
    for (; start + count - 1 <= m_last; start += count) {
        bool all_free = true;
        for (u32 v = start; v < start + count && all_free; v++)
            all_free = !is_allocated(cpu, static_cast<u8>(v));
        if (!all_free)
            continue;
        for (u32 v = start; v < start + count; v++)
            set(cpu, static_cast<u8>(v), true);
        return static_cast<u8>(start);
    }
    return Error::from_errno(ENOSPC);
}

Result<void> VectorAllocator::allocate_many(const u32* cpus, usize count, u8* vectors_out)
{
    for (usize i = 0; i < count; i++) {
        auto vector = allocate(cpus[i]);
        if (vector.is_error()) {
            for (usize j = 0; j < i; j++)
                set(cpus[j], vectors_out[j], false);
            return vector.error();
        }
        vectors_out[i] = vector.value();
    }
    return {};
}

Result<void> VectorAllocator::free(u32 cpu, u8 vector)
{
    if (cpu >= m_cpu_count || !in_range(vector) || !is_allocated(cpu, vector))
        return Error::from_errno(EINVAL);
    set(cpu, vector, false);
    return {};
}
