#include "arch/x86_64/user/Fpu.h"

#include "arch/x86_64/Cpu.h"
#include "kernel/debug/Panic.h"
#include "kernel/lib/String.h"
#include "kernel/log/Log.h"

namespace fpu {
namespace {

constexpr u32 CPUID_1_EDX_FXSR = 1u << 24;
constexpr u32 CPUID_1_ECX_XSAVE = 1u << 26;
constexpr u32 CPUID_XSAVE_LEAF = 0xd;
constexpr u64 CR0_MP = 1ul << 1;
constexpr u64 CR0_EM = 1ul << 2;
constexpr u64 CR0_TS = 1ul << 3;
constexpr u64 CR0_NE = 1ul << 5;
constexpr u64 CR4_OSFXSR = 1ul << 9;
constexpr u64 CR4_OSXMMEXCPT = 1ul << 10;
constexpr u64 CR4_OSXSAVE = 1ul << 18;
// XCR0 components the kernel context-switches (SDM Vol. 1 §13.1): x87, SSE,
// AVX. AVX-512 and AMX are left off, so their state never needs saving.
constexpr u64 XFEATURE_X87 = 1ul << 0;
constexpr u64 XFEATURE_SSE = 1ul << 1;
constexpr u64 XFEATURE_AVX = 1ul << 2;
constexpr u64 XFEATURES_WANTED = XFEATURE_X87 | XFEATURE_SSE | XFEATURE_AVX;
constexpr usize FXSAVE_SIZE = 512;
constexpr usize XSAVE_HEADER_SIZE = 64;

bool g_xsave;
u64 g_xcr0 = XFEATURE_X87 | XFEATURE_SSE;
usize g_size = FXSAVE_SIZE;
usize g_image_size = FXSAVE_SIZE;
u32 g_mxcsr_mask = 0xffbf;
bool g_probed;
constexpr usize MXCSR_OFFSET = 24;
constexpr usize MXCSR_MASK_OFFSET = 28;

void write_xcr0(u64 value)
{
    asm volatile("xsetbv" : : "c"(0u), "a"(static_cast<u32>(value)), "d"(static_cast<u32>(value >> 32)));
}

void probe()
{
    x86::CpuidResult leaf1 = x86::cpuid(1);
    if (!(leaf1.edx & CPUID_1_EDX_FXSR))
        panic("fpu: the CPU has no FXSAVE/FXRSTOR");
    g_xsave = (leaf1.ecx & CPUID_1_ECX_XSAVE) && x86::cpuid(0).eax >= CPUID_XSAVE_LEAF;
    if (g_xsave) {
        x86::CpuidResult supported = x86::cpuid(CPUID_XSAVE_LEAF, 0);
        u64 mask = (static_cast<u64>(supported.edx) << 32) | supported.eax;
        g_xcr0 = mask & XFEATURES_WANTED;
    }
    g_probed = true;
}

} // namespace

void init_this_cpu()
{
    bool boot_cpu = !g_probed;
    if (boot_cpu)
        probe();
    // CR0: native x87 error reporting, no emulation, no lazy-switch trap.
    x86::write_cr0((x86::read_cr0() | CR0_MP | CR0_NE) & ~(CR0_EM | CR0_TS));
    u64 cr4 = x86::read_cr4() | CR4_OSFXSR | CR4_OSXMMEXCPT;
    if (g_xsave)
        cr4 |= CR4_OSXSAVE;
    x86::write_cr4(cr4);
    if (g_xsave) {
        write_xcr0(g_xcr0);
        if (boot_cpu) {
            // EBX of leaf 0xd/0: the area size for the features now in XCR0.
            g_image_size = static_cast<usize>(x86::cpuid(CPUID_XSAVE_LEAF, 0).ebx);
            g_size = align_up(g_image_size, STATE_ALIGN);
        }
    }
    if (boot_cpu) {
        alignas(16) u8 image[FXSAVE_SIZE] = {};
        asm volatile("fxsave64 (%0)" : : "r"(image) : "memory");
        u32 mask;
        memcpy(&mask, image + MXCSR_MASK_OFFSET, sizeof mask);
        if (mask)
            g_mxcsr_mask = mask;
    }
    if (boot_cpu)
        log_info("fpu", "user FPU state: %s, features %#lx (%s), %zu bytes per thread",
                 g_xsave ? "XSAVE" : "FXSAVE", g_xcr0, g_xcr0 & XFEATURE_AVX ? "x87 SSE AVX" : "x87 SSE",
                 g_size);
}

bool uses_xsave() { return g_xsave; }
u64 enabled_features() { return g_xcr0; }
usize state_size() { return g_size; }
usize image_size() { return g_image_size; }
u32 mxcsr_mask() { return g_mxcsr_mask; }

bool image_is_valid(const void* area)
{
    auto* bytes = static_cast<const u8*>(area);
    u32 mxcsr;
    memcpy(&mxcsr, bytes + MXCSR_OFFSET, sizeof mxcsr);
    if (mxcsr & ~g_mxcsr_mask)
        return false;
    if (!g_xsave)
        return true;
    u64 header[XSAVE_HEADER_SIZE / 8];
    memcpy(header, bytes + FXSAVE_SIZE, sizeof header);
    if (header[0] & ~g_xcr0)
        return false;
    for (usize i = 1; i < XSAVE_HEADER_SIZE / 8; i++) {
        if (header[i])
            return false;
    }
    return true;
}

void save(void* area)
{
    if (g_xsave)
        asm volatile("xsave64 (%0)" : : "r"(area), "a"(static_cast<u32>(g_xcr0)), "d"(static_cast<u32>(g_xcr0 >> 32))
                     : "memory");
    else
        asm volatile("fxsave64 (%0)" : : "r"(area) : "memory");
}

void restore(const void* area)
{
    if (g_xsave)
        asm volatile("xrstor64 (%0)" : : "r"(area), "a"(static_cast<u32>(g_xcr0)), "d"(static_cast<u32>(g_xcr0 >> 32))
                     : "memory");
    else
        asm volatile("fxrstor64 (%0)" : : "r"(area) : "memory");
}

void init_state(void* area)
{
    memset(area, 0, g_size);
    auto* bytes = static_cast<u8*>(area);
    // Legacy region (SDM Vol. 1 Table 10-2): FCW at 0, MXCSR at 24. With
    // XSTATE_BV = 0 in the XSAVE header, XRSTOR puts x87/SSE/AVX in their
    // init state but still loads MXCSR (SDM Vol. 1 §13.8.1).
    u16 fcw = 0x37f;
    u32 mxcsr = 0x1f80;
    memcpy(bytes + 0, &fcw, sizeof fcw);
    memcpy(bytes + 24, &mxcsr, sizeof mxcsr);
    static_assert(FXSAVE_SIZE + XSAVE_HEADER_SIZE <= 4096);
}

} // namespace fpu
