// The local APIC of each CPU, in x2APIC mode (MSRs) when the CPU has it and
// in xAPIC mode (MMIO) otherwise. Intel SDM Vol. 3A Chapter 11 "Advanced
// Programmable Interrupt Controller (APIC)".
#pragma once

#include "kernel/lib/Types.h"

namespace lapic {

// Boot CPU, once: choose x2APIC or xAPIC, map the xAPIC registers.
void init_boot();
// Each CPU (the boot CPU too): enable the APIC with the spurious vector,
// accept all priorities, mask the LVT entries we do not use.
void init_this_cpu();

bool is_ready();
bool is_x2apic();
// This CPU's APIC ID (full 32 bits in x2APIC mode).
u32 id();

// Signal end of interrupt (SDM §11.8.5). Not for the spurious vector.
void eoi();

// ICR delivery modes, SDM §11.6.1 Figure 11-12.
enum class Delivery : u32 { Fixed = 0, Nmi = 4, Init = 5, Startup = 6 };

void send_ipi(u32 apic_id, u8 vector, Delivery delivery = Delivery::Fixed);
void send_ipi_self(u8 vector);
// Destination shorthand "all excluding self".
void send_ipi_all_but_self(u8 vector, Delivery delivery = Delivery::Fixed);
// INIT (assert) and STARTUP with the trampoline's page number, for AP bring-up (SDM §9.4.4.1).
void send_init(u32 apic_id);
void send_startup(u32 apic_id, u8 start_page);

// The APIC timer, SDM §11.5.4.
namespace timer {
bool has_tsc_deadline();
// One-shot mode with the divider used everywhere (16): a count of `ticks`.
void arm_oneshot(u8 vector, u32 ticks);
// TSC-deadline mode: interrupt when the TSC reaches `tsc` (0 disarms).
void arm_tsc_deadline(u8 vector, u64 tsc);
void stop();
u32 current_count();
constexpr u32 DIVIDER = 16;
} // namespace timer

} // namespace lapic
