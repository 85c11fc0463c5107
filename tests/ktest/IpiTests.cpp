// ktest suite "ipi": cross-CPU calls, reschedule and TLB-shootdown IPIs on
// every online CPU. With one CPU the tests check the local paths only.
#include "arch/x86_64/Cpu.h"
#include "arch/x86_64/PerCpu.h"
#include "kernel/irq/Ipi.h"
#include "kernel/irq/Irq.h"
#include "kernel/lib/Atomic.h"
#include "kernel/time/Clock.h"
#include "tests/ktest/Ktest.h"

namespace {

constexpr u64 TIMEOUT_NS = 5000000000ull;

struct PerCpuCounts {
    u64 hits[MAX_CPUS];
    u32 ran_on[MAX_CPUS];
};

PerCpuCounts g_counts;

void count_on_this_cpu(void* arg)
{
    auto* counts = static_cast<PerCpuCounts*>(arg);
    u32 cpu = current_cpu_index();
    AtomicRef(counts->hits[cpu]).fetch_add(1ul, MemoryOrder::Relaxed);
    counts->ran_on[cpu] = cpu;
}

void reset_counts() { g_counts = PerCpuCounts{}; }

template <typename Done>
bool spin_until(Done done)
{
    u64 end = clock_ns() + TIMEOUT_NS;
    while (!done()) {
        if (clock_ns() > end)
            return false;
        x86::pause();
    }
    return true;
}

// "and back": the remote CPU calls the origin CPU from its handler.
struct PingPong {
    u32 origin;
    u64 pongs;
};

void pong(void* arg) { AtomicRef(static_cast<PingPong*>(arg)->pongs).fetch_add(1ul, MemoryOrder::Release); }

void ping(void* arg)
{
    auto* p = static_cast<PingPong*>(arg);
    smp_call_function(p->origin, pong, p, false);
}

} // namespace

KTEST(ipi, call_function_on_every_other_cpu)
{
    reset_counts();
    u32 self = current_cpu_index();
    CpuMask online = online_cpus();
    KEXPECT_EQ(online.count(), percpu::online_count());
    for (u32 cpu : online) {
        if (cpu == self)
            continue;
        smp_call_function(cpu, count_on_this_cpu, &g_counts, true);
        KEXPECT_EQ(g_counts.hits[cpu], 1ul);
        KEXPECT_EQ(g_counts.ran_on[cpu], cpu);
    }
    KEXPECT_EQ(g_counts.hits[self], 0ul);
    // The current CPU runs its own call directly.
    smp_call_function(self, count_on_this_cpu, &g_counts, true);
    KEXPECT_EQ(g_counts.hits[self], 1ul);
}

KTEST(ipi, call_function_there_and_back)
{
    PingPong p{current_cpu_index(), 0};
    u64 expected = 0;
    for (u32 cpu : online_cpus()) {
        if (cpu == p.origin)
            continue;
        for (int i = 0; i < 100; i++) {
            smp_call_function(cpu, ping, &p, true);
            expected++;
        }
    }
    KEXPECT(spin_until([&] { return AtomicRef(p.pongs).load(MemoryOrder::Acquire) == expected; }));
    KEXPECT_EQ(p.pongs, expected);
}

KTEST(ipi, call_function_all_counts_match)
{
    reset_counts();
    constexpr u64 ROUNDS = 500;
    for (u64 i = 0; i < ROUNDS; i++)
        smp_call_function_all(count_on_this_cpu, &g_counts, true);
    for (u32 cpu = 0; cpu < MAX_CPUS; cpu++)
        KEXPECT_EQ(g_counts.hits[cpu], online_cpus().has(cpu) ? ROUNDS : 0ul);
}

KTEST(ipi, call_function_without_waiting)
{
    reset_counts();
    constexpr u64 CALLS = 1000;
    u32 self = current_cpu_index();
    for (u64 i = 0; i < CALLS; i++) {
        for (u32 cpu : online_cpus()) {
            if (cpu != self)
                smp_call_function(cpu, count_on_this_cpu, &g_counts, false);
        }
    }
    for (u32 cpu : online_cpus()) {
        if (cpu == self)
            continue;
        KEXPECT(spin_until([&] { return AtomicRef(g_counts.hits[cpu]).load(MemoryOrder::Relaxed) == CALLS; }));
    }
}

namespace {

// Every CPU calls its neighbour, waiting, from inside a cross-CPU call: the
// waiters must serve each other's calls or this deadlocks.
struct Crossfire {
    u32 cpus[MAX_CPUS];
    u32 cpu_count;
    u64 done_cpus;
    u64 hits[MAX_CPUS];
};

void crossfire_hit(void* arg)
{
    AtomicRef(static_cast<Crossfire*>(arg)->hits[current_cpu_index()]).fetch_add(1ul, MemoryOrder::Relaxed);
}

constexpr int CROSSFIRE_CALLS = 100;

void crossfire_run(void* arg)
{
    auto* c = static_cast<Crossfire*>(arg);
    u32 self = current_cpu_index();
    u32 position = 0;
    while (c->cpus[position] != self)
        position++;
    u32 neighbour = c->cpus[(position + 1) % c->cpu_count];
    for (int i = 0; i < CROSSFIRE_CALLS; i++)
        smp_call_function(neighbour, crossfire_hit, c, true);
    AtomicRef(c->done_cpus).fetch_add(1ul, MemoryOrder::Release);
}

} // namespace

KTEST(ipi, crossfire_does_not_deadlock)
{
    static Crossfire c;
    c = Crossfire{};
    for (u32 cpu : online_cpus())
        c.cpus[c.cpu_count++] = cpu;
    smp_call_function_all(crossfire_run, &c, false);
    KASSERT(spin_until([&] { return AtomicRef(c.done_cpus).load(MemoryOrder::Acquire) == c.cpu_count; }));
    for (u32 i = 0; i < c.cpu_count; i++)
        KEXPECT_EQ(c.hits[c.cpus[i]], static_cast<u64>(CROSSFIRE_CALLS));
}

KTEST(ipi, reschedule_ipi_is_delivered)
{
    u32 self = current_cpu_index();
    for (u32 cpu : online_cpus()) {
        if (cpu == self)
            continue;
        u64 before = irq::count(cpu, irq::VECTOR_IPI_RESCHEDULE);
        send_reschedule_ipi(cpu);
        KEXPECT(spin_until([&] { return irq::count(cpu, irq::VECTOR_IPI_RESCHEDULE) == before + 1; }));
    }
    // To the current CPU it only sets the flag.
    bool were_enabled = x86::save_and_disable_interrupts();
    bool saved = this_cpu().need_resched.load(MemoryOrder::Relaxed);
    this_cpu().need_resched.store(false, MemoryOrder::Relaxed);
    send_reschedule_ipi(self);
    KEXPECT(this_cpu().need_resched.load(MemoryOrder::Relaxed));
    this_cpu().need_resched.store(saved, MemoryOrder::Relaxed);
    x86::restore_interrupts(were_enabled);
}

KTEST(ipi, tlb_shootdown_reaches_every_cpu)
{
    u64 before[MAX_CPUS];
    for (u32 cpu = 0; cpu < MAX_CPUS; cpu++)
        before[cpu] = ipi::tlb_shootdowns_handled(cpu);
    static u8 page[PAGE_SIZE] alignas(PAGE_SIZE);
    // A range (INVLPG per page) and a full flush (CR4.PGE toggle).
    tlb_shootdown(online_cpus(), reinterpret_cast<uptr>(page), sizeof(page));
    tlb_shootdown_all(online_cpus());
    for (u32 cpu = 0; cpu < MAX_CPUS; cpu++)
        KEXPECT_EQ(ipi::tlb_shootdowns_handled(cpu) - before[cpu], online_cpus().has(cpu) ? 2ul : 0ul);
    // Only the CPUs asked for.
    u32 self = current_cpu_index();
    u64 self_before = ipi::tlb_shootdowns_handled(self);
    CpuMask others = online_cpus();
    others.remove(self);
    tlb_shootdown(others, reinterpret_cast<uptr>(page), PAGE_SIZE);
    KEXPECT_EQ(ipi::tlb_shootdowns_handled(self), self_before);
}
