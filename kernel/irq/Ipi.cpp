#include "kernel/irq/Ipi.h"

#include "arch/x86_64/Cpu.h"
#include "arch/x86_64/PerCpu.h"
#include "arch/x86_64/apic/Lapic.h"
#include "arch/x86_64/mm/PageTable.h"
#include "kernel/irq/Irq.h"
#include "kernel/irq/IrqInternal.h"
#include "kernel/irq/TlbRange.h"
#include "kernel/lib/Atomic.h"

namespace {

// A cross-CPU call. Each (source CPU, destination CPU) pair owns one request
// slot, reused once the destination has run the previous call, so sending
// never allocates (as Linux's per-CPU call_single_data).
struct CallRequest {
    CallRequest* next;
    CrossCpuFunction fn;
    void* arg;
    Atomic<u32> pending; // set by the sender, cleared by the destination after fn returned
};

// Requests waiting for a CPU: a lock-free stack pushed by senders and taken
// whole by the destination.
struct alignas(64) CallQueue {
    Atomic<CallRequest*> head;
};

CallQueue g_queues[MAX_CPUS];
CallRequest g_requests[MAX_CPUS][MAX_CPUS];
// CPUs whose local APIC and handlers are ready to take IPIs.
Atomic<u64> g_ipi_cpus{0};
Atomic<u64> g_tlb_handled[MAX_CPUS]; // each written by its own CPU only
Atomic<bool> g_stop_requested{false};
Atomic<u64> g_stopped_cpus{0};

static_assert(MAX_CPUS <= CpuMask::CAPACITY);

void run_queued_calls()
{
    u32 cpu = current_cpu_index();
    CallRequest* list = g_queues[cpu].head.exchange(nullptr, MemoryOrder::Acquire);
    // Pushed last-first; reverse so calls run in the order they were queued.
    CallRequest* ordered = nullptr;
    while (list) {
        CallRequest* next = list->next;
        list->next = ordered;
        ordered = list;
        list = next;
    }
    while (ordered) {
        CallRequest* request = ordered;
        ordered = request->next;
        CrossCpuFunction fn = request->fn;
        void* arg = request->arg;
        fn(arg);
        // After this store the sender may reuse the slot: read nothing after it.
        request->pending.store(0u, MemoryOrder::Release);
    }
}

void call_function_interrupt(void*) { run_queued_calls(); }

void reschedule_interrupt(void*) { this_cpu().need_resched.store(true, MemoryOrder::Relaxed); }

// Spin until `request` is done, serving calls aimed at this CPU meanwhile.
void wait_for(CallRequest& request)
{
    while (request.pending.load(MemoryOrder::Acquire)) {
        run_queued_calls();
        x86::pause();
    }
}

// Interrupts must be off (the slot belongs to this CPU until it is queued).
void queue_call(u32 source, u32 target, CrossCpuFunction fn, void* arg, u8 vector)
{
    CallRequest& request = g_requests[source][target];
    wait_for(request);
    request.fn = fn;
    request.arg = arg;
    request.pending.store(1, MemoryOrder::Relaxed); // published by the release push below
    CallRequest* head = g_queues[target].head.load(MemoryOrder::Relaxed);
    do {
        request.next = head;
    } while (!g_queues[target].head.compare_exchange_weak(head, &request, MemoryOrder::Release, MemoryOrder::Relaxed));
    // Only the push onto an empty queue needs an interrupt: a non-empty one
    // has an IPI on its way that will take this request too.
    if (!head)
        lapic::send_ipi(percpu::cpu(target).apic_id, vector);
}

void call_many(CpuMask cpus, CrossCpuFunction fn, void* arg, bool wait, u8 vector)
{
    bool were_enabled = x86::save_and_disable_interrupts();
    u32 self = current_cpu_index();
    CpuMask remote = cpus & online_cpus();
    remote.remove(self);
    for (u32 cpu : remote)
        queue_call(self, cpu, fn, arg, vector);
    if (cpus.has(self))
        fn(arg);
    if (wait) {
        for (u32 cpu : remote)
            wait_for(g_requests[self][cpu]);
    }
    x86::restore_interrupts(were_enabled);
}

struct TlbRange {
    uptr start;
    usize length;
};

void flush_local(void* arg)
{
    auto* range = static_cast<TlbRange*>(arg);
    const TlbPages pages = tlb_pages(range->start, range->length);
    if (pages.full) {
        mm::flush_tlb_local_all(); // global entries too
    } else {
        for (usize i = 0; i < pages.count; i++)
            mm::flush_tlb_local(pages.first + i * PAGE_SIZE);
    }
    g_tlb_handled[current_cpu_index()].fetch_add(1, MemoryOrder::Relaxed);
}

void nothing(void*) { }

} // namespace

CpuMask online_cpus()
{
    CpuMask mask;
    u64 bits = g_ipi_cpus.load(MemoryOrder::Acquire);
    for (u32 cpu = 0; cpu < CpuMask::CAPACITY; cpu++) {
        if ((bits >> cpu) & 1)
            mask.add(cpu);
    }
    return mask;
}

void send_reschedule_ipi(u32 cpu)
{
    if (cpu == current_cpu_index() || !online_cpus().has(cpu)) {
        percpu::cpu(cpu).need_resched.store(true, MemoryOrder::Relaxed);
        return;
    }
    lapic::send_ipi(percpu::cpu(cpu).apic_id, irq::VECTOR_IPI_RESCHEDULE);
}

void smp_call_function(u32 cpu, CrossCpuFunction fn, void* arg, bool wait)
{
    call_many(CpuMask::only(cpu), fn, arg, wait, irq::VECTOR_IPI_CALL_FUNCTION);
}

void smp_call_function_many(CpuMask cpus, CrossCpuFunction fn, void* arg, bool wait)
{
    call_many(cpus, fn, arg, wait, irq::VECTOR_IPI_CALL_FUNCTION);
}

void smp_call_function_all(CrossCpuFunction fn, void* arg, bool wait)
{
    call_many(CpuMask::first(CpuMask::CAPACITY), fn, arg, wait, irq::VECTOR_IPI_CALL_FUNCTION);
}

void tlb_shootdown(CpuMask cpus, uptr start, usize length)
{
    TlbRange range{start, length};
    // Always waits: the range lives on this stack, and callers free the
    // pages only once no CPU can still reach them through a stale entry.
    call_many(cpus, flush_local, &range, true, irq::VECTOR_IPI_TLB_SHOOTDOWN);
}

namespace irq {

void synchronize_cpu(u32 cpu)
{
    if (cpu == current_cpu_index() || !online_cpus().has(cpu))
        return;
    smp_call_function(cpu, nothing, nullptr, true);
}

} // namespace irq

namespace ipi {

void init()
{
    irq::set_system_handler(irq::VECTOR_IPI_CALL_FUNCTION, call_function_interrupt, nullptr, "ipi-call");
    irq::set_system_handler(irq::VECTOR_IPI_TLB_SHOOTDOWN, call_function_interrupt, nullptr, "ipi-tlb");
    irq::set_system_handler(irq::VECTOR_IPI_RESCHEDULE, reschedule_interrupt, nullptr, "ipi-resched");
}

void mark_this_cpu_online()
{
    g_ipi_cpus.fetch_or(1ul << current_cpu_index(), MemoryOrder::Release);
}

bool stop_requested() { return g_stop_requested.load(MemoryOrder::Acquire); }

void stop_this_cpu()
{
    u32 cpu = current_cpu_index();
    g_ipi_cpus.fetch_and(~(1ul << cpu), MemoryOrder::Release);
    g_stopped_cpus.fetch_or(1ul << cpu, MemoryOrder::Release);
    x86::halt_forever();
}

void stop_other_cpus()
{
    if (!lapic::is_ready())
        return;
    u64 others = g_ipi_cpus.load(MemoryOrder::Acquire) & ~(1ul << current_cpu_index());
    if (!others)
        return;
    g_stop_requested.store(true, MemoryOrder::Release);
    // NMI: reaches CPUs spinning with interrupts off too (SDM §11.6.1).
    lapic::send_ipi_all_but_self(0, lapic::Delivery::Nmi);
    // Bounded wait so the panic report is not interleaved with other CPUs'
    // output; a CPU that never answers is reported and left running.
    for (u64 spins = 0; spins < 100000000ul; spins++) {
        if ((g_stopped_cpus.load(MemoryOrder::Acquire) & others) == others)
            return;
        x86::pause();
    }
}

u64 tlb_shootdowns_handled(u32 cpu) { return g_tlb_handled[cpu].load(MemoryOrder::Relaxed); }

} // namespace ipi
