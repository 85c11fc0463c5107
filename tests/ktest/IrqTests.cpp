// ktest suite "irq": vector allocation, dispatch and counting through the
// real local APIC.
#include "arch/x86_64/Cpu.h"
#include "arch/x86_64/PerCpu.h"
#include "arch/x86_64/apic/Lapic.h"
#include "kernel/irq/Irq.h"
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
    __atomic_fetch_add(&hits->count, 1u, __ATOMIC_RELEASE);
}

bool wait_for_count(const Hits& hits, u32 expected)
{
    for (u64 spins = 0; spins < 100000000; spins++) {
        if (__atomic_load_n(&hits.count, __ATOMIC_ACQUIRE) >= expected)
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
    Hits hits{};
    u32 cpu = current_cpu_index();
    auto vector = irq::allocate_vector(cpu, count_hit, &hits, "ktest-self");
    KASSERT(!vector.is_error());
    u64 before = irq::count(cpu, vector.value());
    constexpr u32 N = 100;
    for (u32 i = 0; i < N; i++) {
        lapic::send_ipi_self(vector.value());
        KASSERT(wait_for_count(hits, i + 1));
    }
    KEXPECT_EQ(hits.count, N);
    KEXPECT_EQ(hits.cpu, cpu);
    KEXPECT_EQ(irq::count(cpu, vector.value()) - before, static_cast<u64>(N));
    irq::free_vector(cpu, vector.value());
}

KTEST(irq, msi_message_targets_the_cpu)
{
    u32 cpu = current_cpu_index();
    irq::MsiMessage message = irq::msi_message(cpu, 0x42);
    KEXPECT_EQ(message.address & 0xfff00000ul, 0xfee00000ul);
    KEXPECT_EQ((message.address >> 12) & 0xff, static_cast<u64>(this_cpu().apic_id));
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
