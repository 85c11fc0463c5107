#include "arch/x86_64/interrupts/Idt.h"

#include "arch/x86_64/Gdt.h"
#include "arch/x86_64/interrupts/Vectors.h"

extern "C" const u64 interrupt_stub_table[256];

namespace idt {
namespace {

// 64-bit interrupt gate, Intel SDM Vol. 3A §6.14.1 Figure 6-8.
struct [[gnu::packed]] Gate {
    u16 offset_low;
    u16 selector;
    u8 ist;
    u8 type_attributes;
    u16 offset_mid;
    u32 offset_high;
    u32 reserved;
};
static_assert(sizeof(Gate) == 16);

struct [[gnu::packed]] DescriptorPointer {
    u16 limit;
    u64 base;
};

// Present, DPL 0, type 0xE (64-bit interrupt gate: IF cleared on entry, so
// handlers start with interrupts off).
constexpr u8 GATE_INTERRUPT = 0x8e;
constexpr u8 GATE_INTERRUPT_USER = 0xee; // the same with DPL 3

alignas(16) Gate g_idt[256];

void set_gate(u8 vector, u64 handler, u8 ist)
{
    Gate& gate = g_idt[vector];
    gate.offset_low = handler & 0xffff;
    gate.selector = gdt::KERNEL_CODE;
    gate.ist = ist;
    gate.type_attributes = GATE_INTERRUPT;
    gate.offset_mid = (handler >> 16) & 0xffff;
    gate.offset_high = static_cast<u32>(handler >> 32);
    gate.reserved = 0;
}

} // namespace

void init()
{
    for (u32 vector = 0; vector < 256; vector++)
        set_gate(static_cast<u8>(vector), interrupt_stub_table[vector], 0);
    g_idt[exception::NMI].ist = gdt::IST_NMI;
    g_idt[exception::DOUBLE_FAULT].ist = gdt::IST_DOUBLE_FAULT;
    g_idt[exception::MACHINE_CHECK].ist = gdt::IST_MACHINE_CHECK;
    // int3 and into are how user programs trap on purpose (debuggers,
    // overflow checks): their gates are callable from ring 3. Every other
    // vector raised by "int n" in ring 3 is #GP.
    g_idt[exception::BREAKPOINT].type_attributes = GATE_INTERRUPT_USER;
    g_idt[exception::OVERFLOW].type_attributes = GATE_INTERRUPT_USER;
}

void load()
{
    DescriptorPointer pointer{sizeof(g_idt) - 1, reinterpret_cast<u64>(g_idt)};
    asm volatile("lidt %0" : : "m"(pointer) : "memory");
}

} // namespace idt
