#include "kernel/sched/Thread.h"

#include "arch/x86_64/Cpu.h"
#include "arch/x86_64/user/UserFrame.h"
#include "kernel/debug/Panic.h"
#include "kernel/lib/Atomic.h"
#include "kernel/lib/String.h"
#include "kernel/log/Log.h"
#include "kernel/sched/ThreadAllocator.h"

extern "C" void sched_thread_trampoline();

namespace {

// Written at the lowest address of every stack; a thread that overwrote it
// overflowed (checked at each context switch in debug builds).
constexpr u64 STACK_CANARY = 0x5354'4143'4b45'4e44; // "STACKEND"

Atomic<u32> g_next_thread_id{1};

// sizeof(UserFrame) (arch/x86_64/user/UserFrame.h), 16-byte aligned.
constexpr uptr USER_FRAME_RESERVE = sizeof(UserFrame);
static_assert(USER_FRAME_RESERVE % 16 == 0);

} // namespace

const char* thread_state_name(ThreadState state)
{
    switch (state) {
    case ThreadState::Created:
        return "created";
    case ThreadState::Runnable:
        return "runnable";
    case ThreadState::Blocked:
        return "blocked";
    case ThreadState::Waking:
        return "waking";
    case ThreadState::Dead:
        return "dead";
    }
    return "?";
}

void Thread::set_name(const char* name)
{
    usize i = 0;
    for (; name && name[i] && i < NAME_CAPACITY - 1; i++)
        m_name[i] = name[i];
    m_name[i] = '\0';
}

void Thread::build_initial_frame()
{
    // sched_switch_context pops r15 r14 r13 r12 rbx rbp and returns. The
    // return lands in sched_thread_trampoline with the stack pointer 16-byte
    // aligned, 16 zero bytes below the top (a null frame for backtraces).
    auto top = reinterpret_cast<uptr>(m_stack_base + m_stack_size);
    if (m_reserve_user_frame)
        top -= USER_FRAME_RESERVE;
    auto* frame = reinterpret_cast<u64*>(top - 16 - 7 * sizeof(u64));
    frame[0] = 0;                                                  // r15
    frame[1] = 0;                                                  // r14
    frame[2] = 0;                                                  // r13
    frame[3] = reinterpret_cast<u64>(this);                        // r12: the trampoline's argument
    frame[4] = 0;                                                  // rbx
    frame[5] = 0;                                                  // rbp
    frame[6] = reinterpret_cast<u64>(&sched_thread_trampoline);    // return address
    frame[7] = 0;
    frame[8] = 0;
    m_saved_sp = reinterpret_cast<u64>(frame);
}

void Thread::write_stack_canary()
{
    if (m_stack_base)
        *reinterpret_cast<u64*>(m_stack_base) = STACK_CANARY;
}

bool Thread::stack_canary_intact() const
{
    return !m_stack_base || *reinterpret_cast<const u64*>(m_stack_base) == STACK_CANARY;
}

u32 Thread::allocate_id() { return g_next_thread_id.fetch_add(1, MemoryOrder::Relaxed); }

Result<Thread*> Thread::create(const char* name, Entry entry, void* argument, ThreadOptions options)
{
    if (options.pin_cpu != ThreadOptions::NO_PIN && options.pin_cpu >= MAX_CPUS)
        return Error::from_errno(EINVAL);
    Thread* thread = ThreadAllocator::allocate();
    if (!thread)
        return Error::from_errno(ENOMEM);
    thread->m_id = allocate_id();
    thread->set_name(name);
    thread->m_entry = entry;
    thread->m_argument = argument;
    thread->m_pin_cpu.store(options.pin_cpu, MemoryOrder::Relaxed);
    thread->m_detached = options.detached;
    thread->m_reserve_user_frame = options.user;
    thread->m_user_state = nullptr;
    thread->m_address_space = nullptr;
    thread->m_task = nullptr;
    thread->write_stack_canary();
    thread->build_initial_frame();
    return thread;
}

void Thread::destroy_unstarted(Thread* thread)
{
    ASSERT(thread->state() == ThreadState::Created);
    ThreadAllocator::free(thread);
}

void Thread::join()
{
    ASSERT(!m_detached);
    ASSERT(this != current_thread());
    ASSERT(state() != ThreadState::Created);
    m_exited.wait();
    reap_after_exit();
}

bool Thread::join_for(u64 timeout_ns)
{
    ASSERT(!m_detached);
    ASSERT(this != current_thread());
    ASSERT(state() != ThreadState::Created);
    if (!m_exited.wait_for(timeout_ns))
        return false;
    reap_after_exit();
    return true;
}

void Thread::reap_after_exit()
{
    // exit() completes m_exited and then marks the thread Dead with the
    // interrupts off; its CPU clears m_on_cpu once it has switched away, and
    // only then is the stack free.
    while (state() != ThreadState::Dead || m_on_cpu.load(MemoryOrder::Acquire))
        x86::pause();
    ThreadAllocator::free(this);
}

void Thread::exit()
{
    Thread* self = current_thread();
    ASSERT(self && !self->m_is_idle);
    if (self->m_held_mutexes.count)
        panic("thread %s exiting with mutex \"%s\" held", self->m_name, self->m_held_mutexes.locks[0].name);
    // No preemption from here: a Dead thread must not be put back on a run
    // queue, and the joiner frees it as soon as it is off the CPU.
    x86::disable_interrupts();
    if (!self->m_detached)
        self->m_exited.complete_all();
    sched::set_current_state(ThreadState::Dead);
    sched::schedule();
    VERIFY_NOT_REACHED();
}

bool current_signal_pending()
{
    Thread* thread = current_thread();
    return thread && thread->signal_pending();
}
