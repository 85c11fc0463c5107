// Kernel threads: a stack, a saved stack pointer, and the scheduler's
// bookkeeping (see kernel/sched/ThreadState.h for the life cycle).
//
//   Thread* worker = TRY(Thread::create("nvme0q1", [queue] { queue->run(); },
//                                       {.pin_cpu = queue->cpu()}));
//   worker->start();
//   ...
//   worker->join(); // waits for it to return, then frees it
//
// A thread that is not detached must be joined exactly once; a detached
// thread is freed by the scheduler when it exits.
#pragma once

#include "kernel/lib/Atomic.h"
#include "kernel/lib/IntrusiveList.h"
#include "kernel/lib/Result.h"
#include "kernel/lib/Types.h"
#include "kernel/lib/Utility.h"
#include "kernel/sched/Current.h"
#include "kernel/sched/Scheduler.h"
#include "kernel/sched/ThreadState.h"
#include "kernel/sync/Completion.h"
#include "kernel/sync/LockDebug.h"
#include "kernel/sync/SpinLock.h"

namespace block {
class Plug;
}
namespace mm {
class AddressSpace;
}
namespace proc {
class Task;
}
namespace user {
struct ThreadState;
}

struct ThreadOptions {
    static constexpr u32 NO_PIN = ~0u;
    // Run only on this CPU (always: creation, wake-ups and load balancing
    // respect it).
    u32 pin_cpu = NO_PIN;
    // Free the thread when it exits; it cannot be joined.
    bool detached = false;
    // The thread will run in ring 3: the top of its stack is kept for its
    // UserFrame (arch/x86_64/user/UserFrame.h).
    bool user = false;
};

class Thread {
public:
    using Entry = void (*)(void* argument);
    static constexpr usize NAME_CAPACITY = 32;
    static constexpr usize STACK_SIZE = 16 * KiB;
    // Room for the captures of a lambda passed to create().
    static constexpr usize CLOSURE_CAPACITY = 64;

    static Result<Thread*> create(const char* name, Entry entry, void* argument, ThreadOptions options = {});

    template <typename Function>
    static Result<Thread*> create(const char* name, Function&& function, ThreadOptions options = {})
    {
        using F = typename kstd::remove_reference<Function>::type;
        static_assert(sizeof(F) <= CLOSURE_CAPACITY, "thread closure too large: capture a pointer instead");
        static_assert(alignof(F) <= 16);
        Thread* thread = TRY(create(name, &run_closure<F>, nullptr, options));
        new (thread->m_closure) F(kstd::forward<Function>(function));
        thread->m_argument = thread->m_closure;
        return thread;
    }

    // Created -> Runnable: queue it on its pinned CPU or the least loaded one.
    void start();
    // Free a thread that was created but never started (setup after
    // create() failed).
    static void destroy_unstarted(Thread* thread);
    // Wait until the thread has exited, then free it. Not for detached threads.
    void join();
    // join() giving up after `timeout_ns`: returns false (and frees nothing)
    // if the thread has not exited by then; it may be joined again later.
    bool join_for(u64 timeout_ns);
    // End the current thread (what returning from its entry function does).
    [[noreturn]] static void exit();

    u32 id() const { return m_id; }
    const char* name() const { return m_name; }
    ThreadState state() const { return m_state.load(MemoryOrder::Acquire); }
    u32 cpu() const { return m_cpu.load(MemoryOrder::Relaxed); }
    bool is_pinned() const { return pinned_cpu() != ThreadOptions::NO_PIN; }
    u32 pinned_cpu() const { return m_pin_cpu.load(MemoryOrder::Relaxed); }
    // Pin the current thread to `cpu` (or ThreadOptions::NO_PIN) and, if it
    // runs elsewhere, move it there now (sched_setaffinity). EINVAL for a CPU
    // that is not in the scheduler.
    static Result<void> pin_current(u32 cpu);
    bool is_idle_thread() const { return m_is_idle; }
    u64 context_switches() const { return m_switches; }

    lock_debug::HeldLocks& held_mutexes() { return m_held_mutexes; }

    // block: the I/O this thread is batching (kernel/block/Plug.h, Linux's
    // current->plug). Only the thread itself sets it; schedule() flushes it
    // before the thread sleeps.
    block::Plug* block_plug() const { return m_block_plug; }
    void set_block_plug(block::Plug* plug) { m_block_plug = plug; }

    // The top of the kernel stack (a user thread's UserFrame sits just below).
    uptr stack_top() const { return reinterpret_cast<uptr>(m_stack_base) + m_stack_size; }

    // User mode (kernel/proc): what the context switch must carry for a
    // thread that runs in ring 3 (null for kernel threads), the address space
    // it runs in, and the task it is. Set by the thread itself, or before it
    // starts; cleared by the thread itself with interrupts off before it exits.
    user::ThreadState* user_state() const { return m_user_state; }
    void set_user_state(user::ThreadState* state) { m_user_state = state; }
    mm::AddressSpace* address_space() const { return m_address_space; }
    void set_address_space(mm::AddressSpace* space) { m_address_space = space; }
    proc::Task* task() const { return m_task; }
    void set_task(proc::Task* task) { m_task = task; }

    // Linux's TIF_SIGPENDING: the thread has a signal to act on (or its
    // group is being killed) and must leave any interruptible sleep
    // (wait_event_interruptible, sleep_until_interruptible). kernel/proc sets
    // it before waking the thread and recomputes it when masks or pending
    // sets change; sleeping code only reads it.
    bool signal_pending() const { return m_signal_pending.load(MemoryOrder::Acquire); }
    void set_signal_pending(bool pending) { m_signal_pending.store(pending, MemoryOrder::Release); }

    Thread(const Thread&) = delete;
    Thread& operator=(const Thread&) = delete;

private:
    friend class RunQueue;
    friend class ThreadAllocator;
    friend struct SchedulerCore;

    Thread() = default;
    ~Thread() = default;

    template <typename F>
    static void run_closure(void* closure)
    {
        F* function = static_cast<F*>(closure);
        (*function)();
        function->~F();
    }

    static u32 allocate_id();
    void reap_after_exit();
    void set_name(const char* name);
    void build_initial_frame();
    void write_stack_canary();
    bool stack_canary_intact() const;

    // Scheduler state (ThreadState.h says which lock protects what).
    u64 m_saved_sp = 0;   // while switched out
    ListNode m_run_node;  // on RunQueue list of m_cpu
    Atomic<ThreadState> m_state{ThreadState::Created};
    bool m_on_rq = false;
    Atomic<bool> m_on_cpu{false};
    bool m_is_idle = false;
    bool m_detached = false;
    Atomic<u32> m_cpu{0};
    Atomic<u32> m_pin_cpu{ThreadOptions::NO_PIN};
    SpinLock m_wake_lock{LockRank::ThreadWake, "thread wake"};
    u64 m_switches = 0;

    // Identity and stack.
    u32 m_id = 0;
    char m_name[NAME_CAPACITY] = {};
    u8* m_stack_base = nullptr; // lowest address; the canary lives here
    usize m_stack_size = 0;
    bool m_owns_stack = false;

    Entry m_entry = nullptr;
    void* m_argument = nullptr;
    alignas(16) u8 m_closure[CLOSURE_CAPACITY];

    Completion m_exited;
    lock_debug::HeldLocks m_held_mutexes;
    block::Plug* m_block_plug = nullptr;
    bool m_reserve_user_frame = false;
    user::ThreadState* m_user_state = nullptr;
    mm::AddressSpace* m_address_space = nullptr;
    proc::Task* m_task = nullptr;
    Atomic<bool> m_signal_pending{false};
};

