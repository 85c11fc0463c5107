// ktest suite "irq": vector allocation, dispatch and counting through the
// real local APIC.
#include "arch/x86_64/Cpu.h"
#include "arch/x86_64/PerCpu.h"
#include "arch/x86_64/apic/Lapic.h"
#include "kernel/irq/Irq.h"
#include "kernel/lib/Atomic.h"
#include "tests/ktest/Ktest.h"

namespace {

struct Hits {
    u32 count;
    u32 cpu;
};

void count_hit(void* context)
{
    auto* hits = static_cast<Hits*>(context);
    hits->cpu = current_cpu_index();
    AtomicRef(hits->count).fetch_add(1u, MemoryOrder::Release);
}

bool wait_for_count(const Hits& hits, u32 expected)
{
    for (u64 spins = 0; spins < 100000000; spins++) {
        if (AtomicRef(hits.count).load(MemoryOrder::Acquire) >= expected)
            return true;
        x86::pause();
    }
    return false;
}

} // namespace

KTEST(irq, allocate_and_free_vectors)
{
    u32 cpu = current_cpu_index();
    auto a = irq::allocate_vector(cpu, count_hit, nullptr, "ktest-a");
    auto b = irq::allocate_vector(cpu, count_hit, nullptr, "ktest-b");
    KASSERT(!a.is_error() && !b.is_error());
    KEXPECT(a.value() != b.value());
    KEXPECT(a.value() >= irq::VECTOR_DYNAMIC_FIRST && a.value() <= irq::VECTOR_DYNAMIC_LAST);
    irq::free_vector(cpu, a.value());
    auto c = irq::allocate_vector(cpu, count_hit, nullptr, "ktest-c");
    KASSERT(!c.is_error());
    KEXPECT_EQ(c.value(), a.value()); // the freed vector is reused first
    irq::free_vector(cpu, b.value());
    irq::free_vector(cpu, c.value());
}

KTEST(irq, self_ipi_reaches_handler_and_counts)
{
    KASSERT(x86::interrupts_enabled());
    // The test thread may migrate, so the vector exists on every CPU; each
    // self-IPI is sent with interrupts off and taken on the same CPU as soon
    // as they are back on.
    static Hits hits[MAX_CPUS];
    u32 cpus[MAX_CPUS];
    void* contexts[MAX_CPUS];
    u8 vectors[MAX_CPUS];
    u32 count = percpu::online_count();
    for (u32 i = 0; i < count; i++) {
        cpus[i] = i;
        hits[i] = Hits{};
        contexts[i] = &hits[i];
    }
    KASSERT(!irq::allocate_vectors(cpus, count, count_hit, contexts, nullptr, vectors).is_error());
    u64 before[MAX_CPUS];
    for (u32 i = 0; i < count; i++)
        before[i] = irq::count(i, vectors[i]);
    constexpr u32 N = 100;
    u32 sent[MAX_CPUS] = {};
    for (u32 n = 0; n < N; n++) {
        x86::disable_interrupts();
        u32 cpu = current_cpu_index();
        lapic::send_ipi_self(vectors[cpu]);
        sent[cpu]++;
        x86::enable_interrupts(); // taken here, on `cpu`, before anything can migrate us
        KASSERT(wait_for_count(hits[cpu], sent[cpu]));
    }
    u32 total = 0;
    for (u32 i = 0; i < count; i++) {
        KEXPECT_EQ(hits[i].count, sent[i]);
        if (sent[i])
            KEXPECT_EQ(hits[i].cpu, i);
        KEXPECT_EQ(irq::count(i, vectors[i]) - before[i], static_cast<u64>(sent[i]));
        total += hits[i].count;
        irq::free_vector(i, vectors[i]);
    }
    KEXPECT_EQ(total, N);
}

KTEST(irq, msi_message_targets_the_cpu)
{
    u32 cpu = current_cpu_index();
    irq::MsiMessage message = irq::msi_message(cpu, 0x42);
    KEXPECT_EQ(message.address & 0xfff00000ul, 0xfee00000ul);
    KEXPECT_EQ((message.address >> 12) & 0xff, static_cast<u64>(percpu::cpu(cpu).apic_id));
    KEXPECT_EQ(message.data, 0x42u);
}

KTEST(irq, named_vectors_are_listed)
{
    struct Found {
        bool timer, ipi_call;
    } found{};
    irq::for_each_named_vector(
        [](u32 cpu, u8 vector, const char*, u64, void* arg) {
            auto* f = static_cast<Found*>(arg);
            if (cpu == 0 && vector == irq::VECTOR_TIMER)
                f->timer = true;
            if (cpu == 0 && vector == irq::VECTOR_IPI_CALL_FUNCTION)
                f->ipi_call = true;
        },
        &found);
    KEXPECT(found.timer);
    KEXPECT(found.ipi_call);
}
