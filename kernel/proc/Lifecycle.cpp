// clone, exit, wait (Lifecycle.h).
#include "kernel/proc/Lifecycle.h"

#include "arch/x86_64/Cpu.h"
#include "arch/x86_64/mm/UserCopy.h"
#include "arch/x86_64/user/UserEntry.h"
#include "kernel/debug/Panic.h"
#include "kernel/irq/Ipi.h"
#include "fs/vfs/FileApi.h"
#include "kernel/lib/Atomic.h"
#include "kernel/lib/Format.h"
#include "kernel/lib/String.h"
#include "kernel/log/Log.h"
#include "kernel/mm/AddressSpace.h"
#include "kernel/mm/Heap.h"
#include "kernel/proc/Current.h"
#include "kernel/proc/Exec.h"
#include "kernel/proc/Futex.h"
#include "kernel/proc/ProcessTable.h"
#include "kernel/proc/Signals.h"
#include "kernel/sched/Thread.h"
#include "kernel/time/Clock.h"
#include "kernel/lib/RestartErrno.h"
#include "uapi/errno.h"
#include "uapi/fcntl.h"

namespace proc {
namespace {

constexpr u32 WNOHANG = 0x00000001;
constexpr u32 WUNTRACED = 0x00000002;
constexpr u32 WEXITED = 0x00000004;
constexpr u32 WCONTINUED = 0x00000008;
constexpr u32 WNOWAIT = 0x01000000;
constexpr u32 WCLONE = 0x80000000;
constexpr u32 WALL = 0x40000000;

u32 g_init_status;
Completion* g_init_exited;

template <typename T>
T* allocate()
{
    void* memory = kzalloc(sizeof(T));
    return memory ? new (memory) T() : nullptr;
}

template <typename T>
void destroy(T* object)
{
    if (!object)
        return;
    object->~T();
    kfree(object);
}

void task_entry(void* argument)
{
    Task* task = static_cast<Task*>(argument);
    if (task->set_child_tid)
        (void)user::put_user(reinterpret_cast<i32*>(task->set_child_tid), task->tid);
    user::enter(*user::frame_at(task->thread->stack_top()));
}

// The thread of a new task and the register state it starts with: a copy of
// the caller's frame returning 0.
Result<Thread*> create_task_thread(Task& task, const char* name, const CloneArgs& args)
{
    // The register state first: a created thread cannot be taken back.
    Thread* thread = TRY(Thread::create(name, task_entry, &task, {.detached = true, .user = true}));
    auto state = user::clone_current_thread_state(*current_task()->user_state, thread->stack_top());
    if (state.is_error()) {
        Thread::destroy_unstarted(thread);
        return state.error();
    }
    task.user_state = state.value();
    if (args.flags & CLONE_SETTLS)
        task.user_state->fs_base = args.tls;
    UserFrame& frame = *user::frame_at(thread->stack_top());
    frame = *user::frame_at(current_thread()->stack_top());
    frame.rax = 0;
    if (args.stack)
        frame.rsp = args.stack;
    thread->set_user_state(task.user_state);
    thread->set_task(&task);
    task.thread = thread;
    return thread;
}

void release_address_space(Process& process)
{
    mm::AddressSpace* space = process.address_space;
    if (!space)
        return;
    process.address_space = nullptr;
    bool were_enabled = x86::save_and_disable_interrupts();
    current_thread()->set_address_space(nullptr);
    space->deactivate();
    x86::restore_interrupts(were_enabled);
    space->unref();
}

// The last task of `process` is gone: give back what it holds, become a
// zombie, hand the children to init and tell the parent.
void free_process(Process* process);

void finish_process(Process& process)
{
    release_signals(process);
    release_address_space(process);
    if (process.files) {
        process.files->unref();
        process.files = nullptr;
    }
    if (process.fs) {
        process.fs->unref();
        process.fs = nullptr;
    }
    Process* init = init_process();
    bool is_init = &process == init;
    bool autoreaped = false;
    {
        SpinLockGuard guard(tree_lock());
        bool zombie_orphans = false;
        while (Process* child = process.children.pop_front()) {
            if (init && !is_init) {
                child->parent = init;
                init->children.push_back(*child);
                zombie_orphans |= child->state == ProcessState::Zombie;
            } else {
                child->parent = nullptr;
            }
        }
        if (zombie_orphans)
            init->child_wait.wake_all();
        process.state = ProcessState::Zombie;
        if (process.vfork_done) {
            process.vfork_done->complete();
            process.vfork_done = nullptr;
        }
        // SIGCHLD (or the clone's exit signal) and the parent's wait; a
        // parent that ignores SIGCHLD or set SA_NOCLDWAIT never sees a zombie.
        if (notify_parent_of_exit_locked(process) && !is_init) {
            Process* parent = process.parent;
            parent->children.remove(process);
            parent->children_user_ns += process.exited_user_ns + process.children_user_ns;
            parent->children_system_ns += process.exited_system_ns + process.children_system_ns;
            set_pid_process_locked(process.pid, nullptr);
            remove_process_locked(process);
            process.parent = nullptr;
            autoreaped = true;
        }
    }
    if (is_init) {
        char what[64];
        describe_wait_status(process.exit_status, what, sizeof what);
        log_info("proc", "init (pid 1, %s) %s", process.comm, what);
        g_init_status = process.exit_status;
        if (g_init_exited)
            g_init_exited->complete_all();
    }
    // Nothing refers to an autoreaped process any more; its last task (the
    // caller) no longer touches it.
    if (autoreaped)
        free_process(&process);
}

// Orphan-free, zombie reaped: the Process object goes.
void free_process(Process* process) { destroy(process); }

[[noreturn]] void finish_task(Task* task, bool set_status, u32 status)
{
    Process& process = *task->process;
    // CLONE_CHILD_CLEARTID / set_tid_address: how pthread_join learns of the
    // exit (Linux's mm_release).
    if (task->clear_child_tid) {
        auto* address = reinterpret_cast<u32*>(task->clear_child_tid);
        if (user::put_user(address, 0u).is_error() == false)
            (void)futex_wake(task->clear_child_tid, 1, FUTEX_BITSET_MATCH_ANY, false);
    }
    release_task_signals(*task);
    bool last;
    {
        SpinLockGuard guard(tree_lock());
        process.tasks.remove(*task);
        set_pid_task_locked(task->tid, nullptr);
        user::charge_system_time(*task->user_state);
        process.exited_user_ns += task->user_state->user_ns.load(MemoryOrder::Relaxed);
        process.exited_system_ns += task->user_state->system_ns.load(MemoryOrder::Relaxed);
        last = --process.live_tasks == 0;
        if (last && set_status && !process.group_exiting)
            process.exit_status = status;
    }
    if (last)
        finish_process(process);

    Thread* self = current_thread();
    x86::disable_interrupts();
    self->set_user_state(nullptr);
    self->set_task(nullptr);
    self->set_address_space(nullptr);
    user::destroy_thread_state(task->user_state);
    destroy(task);
    Thread::exit();
}

// Mark every other task of `process` for exit and get each out of its sleep
// or back from ring 3 (tree lock held).
void kill_other_tasks_locked(Process& process, Task* self)
{
    for (Task& other : process.tasks) {
        if (&other == self)
            continue;
        mark_killed_locked(other);
    }
}

bool matches(const Process& child, const WaitSelector& selector, u32 options)
{
    switch (selector.kind) {
    case WaitSelector::Kind::Pid:
        if (child.pid != selector.id)
            return false;
        break;
    case WaitSelector::Kind::ProcessGroup:
        if (child.pgid != selector.id)
            return false;
        break;
    case WaitSelector::Kind::Any:
        break;
    }
    // A "clone child" (exit signal other than SIGCHLD) only answers __WCLONE
    // or __WALL waits, and the others only answer those without __WCLONE.
    if (options & WALL)
        return true;
    bool clone_child = child.exit_signal != SIGCHLD;
    return clone_child == ((options & WCLONE) != 0);
}

} // namespace

Result<pid_t> clone(const CloneArgs& args)
{
    Task* self = current_task();
    Process* parent = self->process;
    u64 flags = args.flags;
    constexpr u64 SUPPORTED = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_VFORK | CLONE_PARENT |
                              CLONE_THREAD | CLONE_SYSVSEM | CLONE_SETTLS | CLONE_PARENT_SETTID |
                              CLONE_CHILD_CLEARTID | CLONE_DETACHED | CLONE_CHILD_SETTID;
    if (flags & ~SUPPORTED)
        return Error::from_errno(EINVAL);
    // kernel/fork.c copy_process: a thread shares the signal handlers, which
    // need a shared address space.
    if ((flags & CLONE_THREAD) && !(flags & CLONE_SIGHAND))
        return Error::from_errno(EINVAL);
    if ((flags & CLONE_SIGHAND) && !(flags & CLONE_VM))
        return Error::from_errno(EINVAL);
    if ((flags & CLONE_PARENT) && parent == init_process())
        return Error::from_errno(EINVAL);

    Task* task = allocate<Task>();
    if (!task)
        return Error::from_errno(ENOMEM);
    task->signal_mask = self->signal_mask;
    // A thread sharing the address space starts without the alternate
    // stack (it would share it); a fork or vfork child keeps it.
    if ((flags & (CLONE_VM | CLONE_VFORK)) != CLONE_VM)
        task->signals.alt_stack = self->signals.alt_stack;
    if (flags & CLONE_CHILD_SETTID)
        task->set_child_tid = args.child_tid;
    if (flags & CLONE_CHILD_CLEARTID)
        task->clear_child_tid = args.child_tid;

    Process* process = parent;
    Completion vfork_done;
    if (!(flags & CLONE_THREAD)) {
        process = allocate<Process>();
        if (!process) {
            destroy(task);
            return Error::from_errno(ENOMEM);
        }
        memcpy(process->comm, parent->comm, sizeof process->comm);
        memcpy(process->rlimits, parent->rlimits, sizeof process->rlimits);
        process->exit_signal = args.exit_signal;
        process->start_ns = clock_ns();
        // CLONE_SIGHAND without CLONE_THREAD would share the table; here the
        // child gets a copy.
        copy_signal_actions(*process, *parent);
        Result<void> built = [&]() -> Result<void> {
            if (flags & CLONE_VM) {
                parent->address_space->ref();
                process->address_space = parent->address_space;
            } else {
                process->address_space = TRY(parent->address_space->fork());
            }
            if (flags & CLONE_FILES) {
                parent->files->ref();
                process->files = parent->files;
            } else {
                process->files = TRY(parent->files->duplicate());
            }
            if (flags & CLONE_FS) {
                parent->fs->ref();
                process->fs = parent->fs;
            } else {
                process->fs = TRY(parent->fs->duplicate());
            }
            return {};
        }();
        if (built.is_error()) {
            if (process->address_space)
                process->address_space->unref();
            if (process->files)
                process->files->unref();
            if (process->fs)
                process->fs->unref();
            destroy(process);
            destroy(task);
            return built.error();
        }
        if (flags & CLONE_VFORK)
            process->vfork_done = &vfork_done;
    }
    task->process = process;

    auto undo_process = [&] {
        if (process != parent) {
            process->address_space->unref();
            process->files->unref();
            process->fs->unref();
            destroy(process);
        }
        destroy(task);
    };
    pid_t tid;
    {
        SpinLockGuard guard(tree_lock());
        auto allocated = allocate_pid_locked();
        tid = allocated.is_error() == false ? allocated.value() : -1;
        if (tid > 0)
            set_pid_task_locked(tid, task); // reserved; linked below
    }
    if (tid < 0) {
        undo_process();
        return Error::from_errno(EAGAIN);
    }
    task->tid = tid;
    auto thread = create_task_thread(*task, process->comm, args);
    if (thread.is_error()) {
        {
            SpinLockGuard guard(tree_lock());
            set_pid_task_locked(tid, nullptr);
        }
        undo_process();
        return thread.error();
    }
    thread.value()->set_address_space(process->address_space);
    {
        SpinLockGuard guard(tree_lock());
        process->tasks.push_back(*task);
        process->live_tasks++;
        if (process != parent) {
            process->pid = tid;
            process->pgid = parent->pgid;
            process->sid = parent->sid;
            process->controlling_tty = parent->controlling_tty;
            Process* real_parent = (flags & CLONE_PARENT) ? parent->parent : parent;
            process->parent = real_parent;
            if (real_parent)
                real_parent->children.push_back(*process);
            set_pid_process_locked(tid, process);
            add_process_locked(*process);
        }
    }
    if (flags & CLONE_PARENT_SETTID)
        (void)user::put_user(reinterpret_cast<i32*>(args.parent_tid), tid);
    thread.value()->start();
    if (flags & CLONE_VFORK)
        vfork_done.wait();
    return tid;
}

void exit_thread(int code) { finish_task(current_task(), true, wait_status_exited(code)); }

void exit_group(u32 wait_status)
{
    Task* self = current_task();
    Process& process = *self->process;
    {
        SpinLockGuard guard(tree_lock());
        if (!process.group_exiting) {
            process.group_exiting = true;
            process.exit_status = wait_status;
        }
        kill_other_tasks_locked(process, self);
    }
    finish_task(self, false, 0);
}

Result<WaitResult> wait_child(const WaitSelector& selector, u32 options)
{
    Task* self = current_task();
    Process& process = *self->process;
    enum class Outcome { Pending, NoChild, NothingYet, Found, Interrupted } outcome = Outcome::Pending;
    WaitResult result;
    Process* reaped = nullptr;
    bool want_exits = options & WEXITED;
    auto scan = [&] {
        SpinLockGuard guard(tree_lock());
        bool any = false;
        for (Process& child : process.children) {
            if (!matches(child, selector, options))
                continue;
            any = true;
            SignalState& s = child.signals;
            bool consume = !(options & WNOWAIT);
            if (child.state == ProcessState::Zombie) {
                if (!want_exits)
                    continue;
                result.kind = WaitResult::Kind::Exited;
                result.pid = child.pid;
                result.status = child.exit_status;
                result.times.user_ns = child.exited_user_ns + child.children_user_ns;
                result.times.system_ns = child.exited_system_ns + child.children_system_ns;
                if (consume) {
                    process.children.remove(child);
                    set_pid_process_locked(child.pid, nullptr);
                    remove_process_locked(child);
                    process.children_user_ns += result.times.user_ns;
                    process.children_system_ns += result.times.system_ns;
                    reaped = &child;
                }
            } else if ((options & WUNTRACED) && s.stop == GroupStop::Stopped && s.stop_unreported) {
                result.kind = WaitResult::Kind::Stopped;
                result.pid = child.pid;
                result.status = (static_cast<u32>(s.stop_signal) << 8) | 0x7f;
                if (consume)
                    s.stop_unreported = false;
            } else if ((options & WCONTINUED) && s.continue_unreported) {
                result.kind = WaitResult::Kind::Continued;
                result.pid = child.pid;
                result.status = 0xffff;
                if (consume)
                    s.continue_unreported = false;
            } else {
                continue;
            }
            result.times = {child.exited_user_ns, child.exited_system_ns};
            if (result.kind == WaitResult::Kind::Exited) {
                result.times.user_ns += child.children_user_ns;
                result.times.system_ns += child.children_system_ns;
            }
            outcome = Outcome::Found;
            return true;
        }
        if (!any) {
            outcome = Outcome::NoChild;
            return true;
        }
        if (options & WNOHANG) {
            outcome = Outcome::NothingYet;
            return true;
        }
        return false;
    };
    if (wait_event_interruptible(process.child_wait, scan) < 0)
        outcome = Outcome::Interrupted;
    switch (outcome) {
    case Outcome::NoChild:
        return Error::from_errno(ECHILD);
    case Outcome::Interrupted:
        return Error::from_errno(ERESTARTSYS);
    case Outcome::NothingYet:
        return WaitResult{};
    default:
        break;
    }
    if (reaped)
        free_process(reaped);
    return result;
}

void exit_killed_task() { finish_task(current_task(), false, 0); }

namespace {

// Linux's defaults for init (include/asm-generic/resource.h INIT_RLIMITS),
// with RLIMIT_NOFILE at what the fd table holds.
constexpr u64 RLIM_INFINITY = ~0ul;
constexpr RLimit DEFAULT_RLIMITS[RLIMIT_COUNT] = {
    {RLIM_INFINITY, RLIM_INFINITY},                              // CPU
    {RLIM_INFINITY, RLIM_INFINITY},                              // FSIZE
    {RLIM_INFINITY, RLIM_INFINITY},                              // DATA
    {8 * MiB, RLIM_INFINITY},                                    // STACK
    {0, RLIM_INFINITY},                                          // CORE
    {RLIM_INFINITY, RLIM_INFINITY},                              // RSS
    {PID_MAX / 2, PID_MAX / 2},                                  // NPROC
    {vfs::FdTable::MAX_FDS, vfs::FdTable::MAX_FDS},              // NOFILE
    {8 * MiB, 8 * MiB},                                          // MEMLOCK
    {RLIM_INFINITY, RLIM_INFINITY},                              // AS
    {RLIM_INFINITY, RLIM_INFINITY},                              // LOCKS
    {PID_MAX / 2, PID_MAX / 2},                                  // SIGPENDING
    {819200, 819200},                                            // MSGQUEUE
    {0, 0},                                                      // NICE
    {0, 0},                                                      // RTPRIO
    {RLIM_INFINITY, RLIM_INFINITY},                              // RTTIME
};

struct InitRequest {
    char path[PATH_CAPACITY];
    ExecArgs args;
};

void init_entry(void* argument)
{
    Task* task = static_cast<Task*>(argument);
    auto* request = static_cast<InitRequest*>(task->process->init_request);
    task->process->init_request = nullptr;
    Result<void> result = execve(request->path, request->args);
    if (result.is_error()) {
        log_error("proc", "cannot run init %s: errno %d", request->path, result.error().code());
        destroy(request);
        exit_thread(127);
    }
    destroy(request);
    user::enter(*user::frame_at(task->thread->stack_top()));
}

Result<void> open_console(FileTable& files)
{
    vfs::File* console = TRY(vfs::open("/dev/console", O_RDWR));
    TRY(files.table.install_at(0, console));
    TRY(files.table.install_at(1, vfs::file_get(*console)));
    TRY(files.table.install_at(2, vfs::file_get(*console)));
    return {};
}

} // namespace

Result<void> start_init(const char* path, const char* const* argv, const char* const* envp, Completion* exited)
{
    InitRequest* request = allocate<InitRequest>();
    Task* task = allocate<Task>();
    Process* process = allocate<Process>();
    auto fail = [&](Error error) -> Result<void> {
        if (process) {
            if (process->files)
                process->files->unref();
            if (process->fs)
                process->fs->unref();
        }
        destroy(process);
        destroy(task);
        destroy(request);
        return error;
    };
    if (!request || !task || !process)
        return fail(Error::from_errno(ENOMEM));
    usize path_length = strlen(path);
    if (path_length >= PATH_CAPACITY)
        return fail(Error::from_errno(ENAMETOOLONG));
    memcpy(request->path, path, path_length + 1);
    for (usize i = 0; argv[i]; i++) {
        if (auto r = request->args.add_argument(argv[i], strlen(argv[i])); r.is_error())
            return fail(r.error());
    }
    for (usize i = 0; envp[i]; i++) {
        if (auto r = request->args.add_environment(envp[i], strlen(envp[i])); r.is_error())
            return fail(r.error());
    }

    auto files = FileTable::create();
    if (files.is_error())
        return fail(files.error());
    process->files = files.value();
    if (auto r = open_console(*process->files); r.is_error())
        return fail(r.error());
    auto fs = FsContext::create();
    if (fs.is_error())
        return fail(fs.error());
    process->fs = fs.value();
    memcpy(process->rlimits, DEFAULT_RLIMITS, sizeof DEFAULT_RLIMITS);
    memcpy(process->comm, "init", 5);
    process->start_ns = clock_ns();
    process->init_request = request;
    task->process = process;

    auto thread = Thread::create("init", init_entry, task, {.detached = true, .user = true});
    if (thread.is_error())
        return fail(thread.error());
    auto state = user::create_thread_state(thread.value()->stack_top());
    if (state.is_error()) {
        Thread::destroy_unstarted(thread.value());
        return fail(state.error());
    }
    task->user_state = state.value();
    task->thread = thread.value();
    thread.value()->set_user_state(task->user_state);
    thread.value()->set_task(task);
    {
        SpinLockGuard guard(tree_lock());
        pid_t pid = allocate_pid_locked().value();
        ASSERT(pid == 1);
        task->tid = process->pid = process->pgid = process->sid = pid;
        set_pid_task_locked(pid, task);
        set_pid_process_locked(pid, process);
        add_process_locked(*process);
        process->tasks.push_back(*task);
        process->live_tasks = 1;
    }
    set_init_process(process);
    g_init_exited = exited;
    thread.value()->start();
    return {};
}

u32 init_exit_status() { return g_init_status; }

CpuTimes process_times(Process& process)
{
    bool were_enabled = x86::save_and_disable_interrupts();
    if (user::ThreadState* state = user::current_state())
        user::charge_system_time(*state); // bring the caller's own count up to now
    x86::restore_interrupts(were_enabled);
    SpinLockGuard guard(tree_lock());
    CpuTimes times{process.exited_user_ns, process.exited_system_ns};
    for (Task& task : process.tasks) {
        times.user_ns += task.user_state->user_ns.load(MemoryOrder::Relaxed);
        times.system_ns += task.user_state->system_ns.load(MemoryOrder::Relaxed);
    }
    return times;
}

CpuTimes children_times(Process& process)
{
    SpinLockGuard guard(tree_lock());
    return CpuTimes{process.children_user_ns, process.children_system_ns};
}

void describe_wait_status(u32 status, char* buffer, usize size)
{
    if ((status & 0x7f) == 0)
        format_string(buffer, size, "exited with status %u", (status >> 8) & 0xff);
    else
        format_string(buffer, size, "killed by signal %u", status & 0x7f);
}

} // namespace proc
