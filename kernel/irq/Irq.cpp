#include "kernel/irq/Irq.h"

#include "arch/x86_64/PerCpu.h"
#include "arch/x86_64/apic/IoApic.h"
#include "arch/x86_64/acpi/Acpi.h"
#include "kernel/irq/IrqInternal.h"
#include "kernel/irq/VectorAllocator.h"
#include "kernel/lib/Atomic.h"
#include "kernel/log/Log.h"
#include "kernel/sync/Guarded.h"

namespace irq {
namespace {

static_assert(VectorAllocator::MAX_CPUS >= MAX_CPUS);

// One slot per CPU per vector. Only the owning CPU increments `count`; the
// handler fields are written only through VectorTable (under its lock) and
// read without it by the interrupt path.
struct Slot {
    Atomic<Handler> handler;
    Atomic<void*> context;
    Atomic<const char*> name;
    Atomic<u64> count;
};

Slot g_slots[MAX_CPUS][256];

// Which vectors are taken, and the only writer of the slots' handlers.
struct VectorTable {
    VectorAllocator allocator{MAX_CPUS, VECTOR_DYNAMIC_FIRST, VECTOR_DYNAMIC_LAST};

    void install(u32 cpu, u8 vector, Handler handler, void* context, const char* name)
    {
        Slot& slot = g_slots[cpu][vector];
        slot.context.store(context, MemoryOrder::Relaxed);
        slot.name.store(name, MemoryOrder::Relaxed);
        slot.handler.store(handler, MemoryOrder::Release); // publishes context and name
    }
};
Guarded<VectorTable> g_vectors{LockRank::IrqTable, "irq vectors"};

} // namespace

Result<u8> allocate_vector(u32 cpu, Handler handler, void* context, const char* name)
{
    return g_vectors.with([&](VectorTable& table) -> Result<u8> {
        u8 vector = TRY(table.allocator.allocate(cpu));
        table.install(cpu, vector, handler, context, name);
        return vector;
    });
}

Result<void> allocate_vectors(const u32* cpus, usize count, Handler handler, void* const* contexts,
                              const char* const* names, u8* vectors_out)
{
    return g_vectors.with([&](VectorTable& table) -> Result<void> {
        TRY(table.allocator.allocate_many(cpus, count, vectors_out));
        for (usize i = 0; i < count; i++)
            table.install(cpus[i], vectors_out[i], handler, contexts ? contexts[i] : nullptr, names ? names[i] : nullptr);
        return {};
    });
}

void free_vector(u32 cpu, u8 vector)
{
    // Two steps, so that an interrupt already latched for the vector can
    // never run the handler with a cleared (or a new owner's) context:
    // handle_interrupt() reads the handler and then the context, so the
    // context must stay as it is while any CPU may still be between the two.
    bool allocated = g_vectors.with([&](VectorTable& table) {
        if (!table.allocator.is_allocated(cpu, vector))
            return false;
        Slot& slot = g_slots[cpu][vector];
        slot.handler.store(static_cast<Handler>(nullptr), MemoryOrder::Release);
        slot.name.store(static_cast<const char*>(nullptr), MemoryOrder::Relaxed);
        return true;
    });
    if (!allocated) {
        log_warn("irq", "free of unallocated vector 0x%x on CPU %u", vector, cpu);
        return;
    }
    // A handler already running on that CPU may still use its context: wait
    // for it to leave (interrupt handlers run with interrupts off, so once
    // the CPU takes an IPI it is out of any handler).
    synchronize_cpu(cpu);
    // Only now may the vector go to a new owner.
    g_vectors.with([&](VectorTable& table) {
        if (table.allocator.free(cpu, vector).is_error())
            return; // freed concurrently by another caller
        table.install(cpu, vector, nullptr, nullptr, nullptr);
        g_slots[cpu][vector].count.store(0ul, MemoryOrder::Relaxed);
    });
}

void set_system_handler(u8 vector, Handler handler, void* context, const char* name)
{
    g_vectors.with([&](VectorTable& table) {
        for (u32 cpu = 0; cpu < MAX_CPUS; cpu++)
            table.install(cpu, vector, handler, context, name);
    });
}

void set_cpu_handler(u32 cpu, u8 vector, Handler handler, void* context, const char* name)
{
    g_vectors.with([&](VectorTable& table) { table.install(cpu, vector, handler, context, name); });
}

Result<void> install_legacy(u8 isa_irq, u32 cpu, Handler handler, void* context, const char* name)
{
    if (isa_irq >= 16 || cpu >= MAX_CPUS)
        return Error::from_errno(EINVAL);
    u8 vector = static_cast<u8>(VECTOR_LEGACY_BASE + isa_irq);
    set_cpu_handler(cpu, vector, handler, context, name);
    acpi::LegacyIrq line = acpi::legacy_irq(isa_irq);
    return ioapic::route(line.gsi, vector, percpu::cpu(cpu).apic_id, line.active_low, line.level_triggered);
}

MsiMessage msi_message(u32 cpu, u8 vector)
{
    // SDM Vol. 3A §11.11.1: address 0xFEE, destination APIC ID in bits
    // 19:12, physical destination mode, no redirection hint.
    // §11.11.2: data = vector, fixed delivery, edge trigger.
    constexpr u64 MSI_ADDRESS_BASE = 0xfee00000;
    constexpr unsigned MSI_DESTINATION_SHIFT = 12;
    u64 address = MSI_ADDRESS_BASE | (static_cast<u64>(percpu::cpu(cpu).apic_id & 0xff) << MSI_DESTINATION_SHIFT);
    return {address, vector};
}

u64 count(u32 cpu, u8 vector)
{
    if (cpu >= MAX_CPUS)
        return 0;
    return g_slots[cpu][vector].count.load(MemoryOrder::Relaxed);
}

void for_each_named_vector(void (*fn)(u32 cpu, u8 vector, const char* name, u64 count, void* arg), void* arg)
{
    for (u32 cpu = 0; cpu < percpu::possible_count(); cpu++) {
        for (u32 vector = 0; vector < 256; vector++) {
            const char* name = g_slots[cpu][vector].name.load(MemoryOrder::Acquire);
            if (name)
                fn(cpu, static_cast<u8>(vector), name, count(cpu, static_cast<u8>(vector)), arg);
        }
    }
}

bool handle_interrupt(u32 cpu, u8 vector)
{
    Slot& slot = g_slots[cpu][vector];
    slot.count.store(slot.count.load(MemoryOrder::Relaxed) + 1, MemoryOrder::Relaxed);
    Handler handler = slot.handler.load(MemoryOrder::Acquire);
    if (!handler)
        return false;
    handler(slot.context.load(MemoryOrder::Relaxed));
    return true;
}

} // namespace irq
