#include "arch/x86_64/Random.h"

#include "arch/x86_64/Cpu.h"
#include "kernel/lib/Atomic.h"
#include "kernel/lib/String.h"

namespace random {
namespace {

constexpr u32 CPUID_1_ECX_RDRAND = 1u << 30;
constexpr int RDRAND_RETRIES = 10; // Intel's recommendation (DRNG guide §5.2.1)

int g_has_rdrand = -1; // unknown until first use
Atomic<u64> g_state;         // SplitMix64 state, advanced atomically

bool rdrand(u64& value)
{
    for (int i = 0; i < RDRAND_RETRIES; i++) {
        bool ok;
        asm volatile("rdrand %0; setc %1" : "=r"(value), "=qm"(ok));
        if (ok)
            return true;
    }
    return false;
}

u64 splitmix()
{
    u64 z = g_state.add_fetch(0x9e3779b97f4a7c15ul, MemoryOrder::Relaxed);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ul;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebul;
    return z ^ (z >> 31);
}

} // namespace

u64 next_u64()
{
    if (g_has_rdrand < 0) {
        g_has_rdrand = (x86::cpuid(1).ecx & CPUID_1_ECX_RDRAND) ? 1 : 0;
        g_state.fetch_xor(x86::rdtsc() * 0x2545f4914f6cdd1dul, MemoryOrder::Relaxed);
    }
    u64 value;
    if (g_has_rdrand && rdrand(value))
        return value ^ splitmix();
    g_state.fetch_xor(x86::rdtsc(), MemoryOrder::Relaxed);
    return splitmix();
}

void get_bytes(void* buffer, usize size)
{
    auto* out = static_cast<u8*>(buffer);
    while (size) {
        u64 value = next_u64();
        usize chunk = min(size, sizeof value);
        memcpy(out, &value, chunk);
        out += chunk;
        size -= chunk;
    }
}

} // namespace random
