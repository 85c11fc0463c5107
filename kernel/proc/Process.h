// User processes and their threads (Linux's task_struct split in two).
//
//   Process  one thread group: pid (= the leader's tid), parent and
//            children, process group and session, the address space, the
//            file table and filesystem context (cwd, umask), credentials,
//            resource limits, the exit status a parent collects with wait4,
//            and the state the signal and tty layers will hang off it.
//   Task     one thread of it: a kernel Thread (its kernel stack carries the
//            UserFrame), its tid, its user register state
//            (user::ThreadState), set_tid_address / robust_list values.
//
// Lifetime. A Task lives from clone/fork until its thread exits (exit_task,
// which frees it just before Thread::exit). A Process lives until its parent
// reaps it: when its last task exits it releases its address space, files
// and fs context, becomes a zombie, and wakes its parent's wait4. Orphans go
// to init (PID 1); a zombie orphan is reaped by init's next wait.
//
// Locking. One spinlock, the process tree lock (LockRank::ProcessTree),
// guards pids, parent/children links, thread lists, process states and exit
// statuses. Everything else in a Process is either fixed after creation or
// only touched by its own threads (address space pointer: by execve with the
// other threads gone; fd table and fs context have their own locks).
#pragma once

#include "fs/vfs/FdTable.h"
#include "kernel/lib/Atomic.h"
#include "kernel/lib/Atomic.h"
#include "kernel/lib/IntrusiveList.h"
#include "kernel/lib/Result.h"
#include "kernel/lib/Types.h"
#include "kernel/proc/SignalState.h"
#include "kernel/sync/Completion.h"
#include "kernel/sync/Guarded.h"
#include "kernel/sync/WaitQueue.h"

class Thread;
namespace mm {
class AddressSpace;
}
namespace user {
struct ThreadState;
}

namespace proc {

using pid_t = i32;

// Linux's default pid_max (kernel/pid.c, PID_MAX_DEFAULT).
constexpr pid_t PID_MAX = 32768;
constexpr usize COMM_CAPACITY = 16; // TASK_COMM_LEN
constexpr u32 RLIMIT_COUNT = 16;    // RLIM_NLIMITS
constexpr usize PATH_CAPACITY = 4096;

class Process;

struct RLimit {
    u64 current;
    u64 maximum;
};

// A shared, reference-counted fd table (CLONE_FILES shares one).
struct FileTable {
    vfs::FdTable table;
    Atomic<i32> refcount{1};

    static Result<FileTable*> create();
    // A new table with the same descriptors (fork without CLONE_FILES).
    Result<FileTable*> duplicate();
    void ref() { refcount.add_fetch(1, MemoryOrder::Relaxed); }
    void unref();
};

// Working directory and umask (CLONE_FS shares one). The cwd is an
// absolute, normalised path: the VFS walks paths from the root.
struct FsContext {
    struct State {
        char cwd[PATH_CAPACITY] = "/";
        u32 umask = 022;
    };
    Guarded<State> state{LockRank::Generic, "fs context"};
    Atomic<i32> refcount{1};

    static Result<FsContext*> create();
    Result<FsContext*> duplicate();
    void ref() { refcount.add_fetch(1, MemoryOrder::Relaxed); }
    void unref();
};

// The controlling terminal (the tty layer's object).
struct Terminal;

class Task {
public:
    pid_t tid = 0;
    Process* process = nullptr;
    Thread* thread = nullptr;
    user::ThreadState* user_state = nullptr;
    // set_tid_address / CLONE_CHILD_CLEARTID: zeroed and futex-woken at exit.
    uptr clear_child_tid = 0;
    // CLONE_CHILD_SETTID: the new thread stores its tid here first thing.
    uptr set_child_tid = 0;
    uptr robust_list = 0;
    usize robust_list_length = 0;
    // The signals this thread blocks (rt_sigprocmask); kept across exec.
    // Tree lock (read by senders choosing a thread).
    u64 signal_mask = 0;
    TaskSignals signals; // kernel/proc/SignalState.h
    // prctl(PR_SET_PDEATHSIG): the signal layer sends it when the parent dies.
    int parent_death_signal = 0;
    // The whole group is exiting (exit_group, execve by another thread, a
    // fatal signal): leave at the next return to user mode or interruptible
    // sleep. Atomic; set with mark_killed_locked (Signals.h), which also
    // raises the thread's signal_pending flag.
    Atomic<bool> kill_pending{false};
    ListNode process_node; // Process::tasks, under the tree lock
};

enum class ProcessState : u8 {
    Running,
    Zombie, // every task gone; waits for its parent's wait4
};

class Process {
public:
    pid_t pid = 0; // the leader's tid
    char comm[COMM_CAPACITY] = {};

    // --- under the tree lock ---------------------------------------------------
    pid_t pgid = 0;
    pid_t sid = 0;
    Process* parent = nullptr;
    ListNode sibling_node; // parent->children
    IntrusiveList<Process, &Process::sibling_node> children;
    IntrusiveList<Task, &Task::process_node> tasks;
    ListNode all_node; // every process, for pgid/sid scans
    u32 live_tasks = 0;
    ProcessState state = ProcessState::Running;
    // Set once by the first exit_group / fatal signal; otherwise the status
    // of the last task's exit().
    bool group_exiting = false;
    u32 exit_status = 0; // wait4 encoding (uapi/wait.h): code << 8, or the signal
    // Sent to the parent when this process ends (clone's low byte; SIGCHLD
    // for fork). The signal layer delivers it.
    int exit_signal = 17;
    bool did_exec = false; // setpgid on a child that exec'd: EACCES
    int dumpable = 1;      // prctl(PR_SET_DUMPABLE)
    bool no_new_privs = false;

    // --- owned by the group's own tasks ---------------------------------------
    mm::AddressSpace* address_space = nullptr;
    FileTable* files = nullptr;
    FsContext* fs = nullptr;
    RLimit rlimits[RLIMIT_COUNT] = {};
    SignalState signals; // handlers, shared pending set, group stop, ITIMER_REAL
    Terminal* controlling_tty = nullptr;

    // The parent sleeps here in wait4/waitid (a child changed state).
    WaitQueue child_wait;
    // vfork(): the parent waits for the child's execve or exit.
    Completion* vfork_done = nullptr;

    // PID 1 only, until its first execve: what to run (Lifecycle.cpp).
    void* init_request = nullptr;

    // Accounting (getrusage/times), nanoseconds: CPU time of tasks that have
    // exited (live ones keep theirs in user::ThreadState), and of reaped
    // children with their own reaped children (RUSAGE_CHILDREN). Tree lock.
    u64 start_ns = 0;
    u64 exited_user_ns = 0;
    u64 exited_system_ns = 0;
    u64 children_user_ns = 0;
    u64 children_system_ns = 0;
};

} // namespace proc
