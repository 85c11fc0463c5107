// Interrupt vectors and their handlers.
//
// Vectors 0x00-0x1f are exceptions; 0x20-0x2f legacy IOAPIC lines; 0x30-0xdf
// are handed out per CPU by the vector allocator to MSI/MSI-X users (one per
// I/O queue, on the CPU that submits to it); 0xe0-0xff are fixed system
// vectors (timer, IPIs, spurious).
#pragma once

#include "kernel/lib/Result.h"
#include "kernel/lib/Types.h"

namespace irq {

constexpr u8 VECTOR_LEGACY_BASE = 0x20;
constexpr u8 VECTOR_DYNAMIC_FIRST = 0x30;
constexpr u8 VECTOR_DYNAMIC_LAST = 0xdf;
constexpr u8 VECTOR_TIMER = 0xec;
constexpr u8 VECTOR_IPI_CALL_FUNCTION = 0xfb;
constexpr u8 VECTOR_IPI_RESCHEDULE = 0xfc;
constexpr u8 VECTOR_IPI_TLB_SHOOTDOWN = 0xfd;
constexpr u8 VECTOR_IPI_STOP = 0xfe;
constexpr u8 VECTOR_SPURIOUS = 0xff;

// Runs in interrupt context with interrupts off; the end-of-interrupt is sent
// by the dispatcher after the handler returns.
using Handler = void (*)(void* context);

// Allocate a free vector on `cpu` and bind `handler` to it. `name` is shown in
// /proc/interrupts (e.g. "nvme0q1").
Result<u8> allocate_vector(u32 cpu, Handler handler, void* context, const char* name);
// One vector on each of cpus[0..count) with the same handler (e.g. one per
// I/O queue): vectors_out[i] fires on cpus[i] and gets contexts[i]. All or
// nothing. `contexts` and `names` may be null.
Result<void> allocate_vectors(const u32* cpus, usize count, Handler handler, void* const* contexts,
                              const char* const* names, u8* vectors_out);
// The device must no longer raise the vector. Returns after any handler
// already running for it has finished, so its context may then be freed.
void free_vector(u32 cpu, u8 vector);

// Fixed vectors (timer, IPIs): bind `handler` on every CPU, or on one.
void set_system_handler(u8 vector, Handler handler, void* context, const char* name);
void set_cpu_handler(u32 cpu, u8 vector, Handler handler, void* context, const char* name);

// Route ISA interrupt line `isa_irq` (after the MADT's overrides) through the
// IOAPIC to `cpu`, on vector VECTOR_LEGACY_BASE + isa_irq, and unmask it.
Result<void> install_legacy(u8 isa_irq, u32 cpu, Handler handler, void* context, const char* name);

// The MSI/MSI-X message that delivers `vector` to `cpu` (Intel SDM Vol. 3 §11.11).
struct MsiMessage {
    u64 address;
    u32 data;
};
MsiMessage msi_message(u32 cpu, u8 vector);

// How many times `vector` fired on `cpu`.
u64 count(u32 cpu, u8 vector);
// Calls fn(cpu, vector, name, count) for every named vector (for /proc/interrupts and tests).
void for_each_named_vector(void (*fn)(u32 cpu, u8 vector, const char* name, u64 count, void* arg), void* arg);

} // namespace irq
