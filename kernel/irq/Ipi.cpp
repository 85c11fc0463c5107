#include "kernel/irq/Ipi.h"

#include "arch/x86_64/Cpu.h"
#include "arch/x86_64/PerCpu.h"
#include "arch/x86_64/apic/Lapic.h"
#include "arch/x86_64/mm/PageTable.h"
#include "kernel/irq/Irq.h"
#include "kernel/irq/IrqInternal.h"
#include "kernel/irq/TlbRange.h"

namespace {

// A cross-CPU call. Each (source CPU, destination CPU) pair owns one request
// slot, reused once the destination has run the previous call, so sending
// never allocates (as Linux's per-CPU call_single_data).
struct CallRequest {
    CallRequest* next;
    CrossCpuFunction fn;
    void* arg;
    u32 pending; // set by the sender, cleared by the destination after fn returned
};

// Requests waiting for a CPU: a lock-free stack pushed by senders and taken
// whole by the destination.
struct alignas(64) CallQueue {
    CallRequest* head;
};

CallQueue g_queues[MAX_CPUS];
CallRequest g_requests[MAX_CPUS][MAX_CPUS];
// CPUs whose local APIC and handlers are ready to take IPIs.
u64 g_ipi_cpus = 0;
u64 g_tlb_handled[MAX_CPUS];
bool g_stop_requested = false;
u64 g_stopped_cpus = 0;

static_assert(MAX_CPUS <= CpuMask::CAPACITY);

void run_queued_calls()
{
    u32 cpu = current_cpu_index();
    CallRequest* list = __atomic_exchange_n(&g_queues[cpu].head, nullptr, __ATOMIC_ACQUIRE);
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
        __atomic_store_n(&request->pending, 0u, __ATOMIC_RELEASE);
    }
}

void call_function_interrupt(void*) { run_queued_calls(); }

void reschedule_interrupt(void*) { __atomic_store_n(&this_cpu().need_resched, true, __ATOMIC_RELAXED); }

// Spin until `request` is done, serving calls aimed at this CPU meanwhile.
void wait_for(CallRequest& request)
{
    while (__atomic_load_n(&request.pending, __ATOMIC_ACQUIRE)) {
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
    request.pending = 1;
    CallRequest* head = __atomic_load_n(&g_queues[target].head, __ATOMIC_RELAXED);
    do {
        request.next = head;
    } while (!__atomic_compare_exchange_n(&g_queues[target].head, &head, &request, true, __ATOMIC_RELEASE,
                                          __ATOMIC_RELAXED));
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
    g_tlb_handled[current_cpu_index()]++;
}

void nothing(void*) { }

} // namespace

CpuMask online_cpus()
{
    CpuMask mask;
    u64 bits = __atomic_load_n(&g_ipi_cpus, __ATOMIC_ACQUIRE);
    for (u32 cpu = 0; cpu < CpuMask::CAPACITY; cpu++) {
        if ((bits >> cpu) & 1)
            mask.add(cpu);
    }
    return mask;
}

void send_reschedule_ipi(u32 cpu)
{
    if (cpu == current_cpu_index() || !online_cpus().has(cpu)) {
        __atomic_store_n(&percpu::cpu(cpu).need_resched, true, __ATOMIC_RELAXED);
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
    __atomic_fetch_or(&g_ipi_cpus, 1ul << current_cpu_index(), __ATOMIC_RELEASE);
}

bool stop_requested() { return __atomic_load_n(&g_stop_requested, __ATOMIC_ACQUIRE); }

void stop_this_cpu()
{
    u32 cpu = current_cpu_index();
    __atomic_fetch_and(&g_ipi_cpus, ~(1ul << cpu), __ATOMIC_RELEASE);
    __atomic_fetch_or(&g_stopped_cpus, 1ul << cpu, __ATOMIC_RELEASE);
    x86::halt_forever();
}

void stop_other_cpus()
{
    if (!lapic::is_ready())
        return;
    u64 others = __atomic_load_n(&g_ipi_cpus, __ATOMIC_ACQUIRE) & ~(1ul << current_cpu_index());
    if (!others)
        return;
    __atomic_store_n(&g_stop_requested, true, __ATOMIC_RELEASE);
    // NMI: reaches CPUs spinning with interrupts off too (SDM §11.6.1).
    lapic::send_ipi_all_but_self(0, lapic::Delivery::Nmi);
    // Bounded wait so the panic report is not interleaved with other CPUs'
    // output; a CPU that never answers is reported and left running.
    for (u64 spins = 0; spins < 100000000ul; spins++) {
        if ((__atomic_load_n(&g_stopped_cpus, __ATOMIC_ACQUIRE) & others) == others)
            return;
        x86::pause();
    }
}

u64 tlb_shootdowns_handled(u32 cpu) { return __atomic_load_n(&g_tlb_handled[cpu], __ATOMIC_RELAXED); }

} // namespace ipi
