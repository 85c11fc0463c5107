// Lock ranks: the documented lock order, checked at run time in debug builds
// (SLUICE_KERNEL_DEBUG).
//
// Every SpinLock and Mutex names a rank. A thread (for mutexes) or a CPU (for
// spinlocks) may only take a lock whose rank is >= the rank of every lock of
// the same kind it already holds: lower ranks are outer locks, higher ranks
// inner ones. Taking a lower-ranked lock while holding a higher-ranked one
// panics and names both locks. Locks of equal rank may nest (two run queues
// locked in CPU order); keep such nesting rare and ordered by another rule.
//
// Mutexes rank below every spinlock: a mutex may sleep, so it can never be
// taken under a spinlock (that is the separate "sleeping while holding a
// spinlock" check), while a spinlock may be taken under any mutex.
//
// LockRank::None opts a lock out of the order check (it still disables
// interrupts and preemption); new code should always give a rank.
#pragma once

#include "kernel/lib/Types.h"

enum class LockRank : u16 {
    None = 0,

    // Sleeping locks, outermost first.
    MutexFilesystem = 100, // mount table, superblocks, inodes
    MutexAddressSpace = 150, // a user address space's VMAs and page table (kernel/mm); page faults
    MutexBlockDevice = 200, // device open/close, partition scan, queue reconfiguration
    MutexDriver = 300,      // controller admin paths (NVMe admin queue, virtio config)
    MutexGeneric = 800,     // leaf mutexes that take no other mutex
    MutexTest = 900,        // ktests

    // Spinlocks, outermost first.
    Driver = 1000,      // driver submission/completion queues (may wake waiters)
    Block = 1100,       // blk-mq software/hardware queue state, tag sets
    Writeback = 1150,   // a device's list of dirty address spaces (fs/pagecache)
    PageCache = 1200,   // an address space's page tree (fs/pagecache), taken in I/O completion
    PageLru = 1250,     // the page cache's active/inactive LRU lists
    ProcessTree = 1400, // pids, parents/children, process states (kernel/proc); wakes wait queues
    Futex = 1450,       // a futex hash bucket (kernel/proc/Futex.cpp); wakes threads
    Generic = 1500,     // small data guarded by a Guarded<T> that takes no other lock
    WaitQueue = 2000,   // WaitQueue::m_lock (wake functions take the locks below)
    Timer = 2100,       // per-CPU kernel timer queues (callbacks wake threads)
    ThreadWake = 2500,  // Thread::m_wake_lock: serialises wake-ups of one thread
    RunQueue = 3000,    // per-CPU run queues (two may nest, lower CPU index first)
    ThreadPool = 3500,  // thread objects and stacks
    PageAllocator = 4000, // buddy lists and per-CPU page caches
    Heap = 4100,          // slab caches
    Log = 9000,           // the console: callable from anywhere
};
