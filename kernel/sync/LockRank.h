// Lock ranks: the documented lock order, checked at run time in debug builds
// (SLUICE_KERNEL_DEBUG).
//
// Every SpinLock and Mutex names a rank: the constructors take one, there is
// no default and no "unranked" value. A thread (for mutexes) or a CPU (for
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
// Chains the order encodes (outer -> inner):
//   I/O completion: Driver (CQ lock) -> Block (hardware queue) -> BlockStaging
//     -> PageCache (end of a read) -> WaitQueue -> ThreadWake -> RunQueue
//   allocation: PageCache / Driver / Generic -> Heap (slab cache) ->
//     PageAllocator; a failed or low allocation reports memory pressure,
//     which wakes the reclaimer (WaitQueue): so Heap and PageTable rank
//     below WaitQueue, and nothing allocates under WaitQueue or above it.
//   mapping: PciConfig (ECAM bus mapped on first use) -> PageTable ->
//     Heap / PageAllocator, Registry (the MMIO window)
//   Registry, IrqTable and HardwareWindow take no other lock but the log.
#pragma once

#include "kernel/lib/Types.h"

enum class LockRank : u16 {
    // Sleeping locks, outermost first.
    // An io_uring ring's submission lock (Linux's uring_lock): held while SQEs
    // are read and issued and while resources are registered, around
    // filesystem and address-space locks.
    MutexIoUring = 50,
    MutexFilesystem = 100, // mount table, superblocks, inodes
    // A user address space's VMAs and page table (kernel/mm; page faults).
    // Equal to MutexFilesystem on purpose: the real order is Linux's
    // (inode lock -> address space -> filesystem-internal locks such as the
    // ext2 mount lock taken by map_blocks under a fault), which one rank per
    // filesystem level cannot express; equal ranks may nest both ways.
    MutexAddressSpace = 100,
    MutexBlockDevice = 200, // device open/close, partition scan, queue reconfiguration
    MutexDriver = 300,      // controller admin paths (NVMe admin queue, virtio config)
    MutexGeneric = 800,     // leaf mutexes that take no other mutex
    MutexTest = 900,        // ktests

    // Spinlocks, outermost first.
    Driver = 1000,      // driver submission/completion queues (may wake waiters)
    Block = 1100,       // blk-mq hardware queue state (scheduler, parked bios), tag sets
    BlockStaging = 1120, // a CPU's software queue in front of a hardware queue
    Writeback = 1150,   // a device's list of dirty address spaces (fs/pagecache)
    PageCache = 1200,   // an address space's page tree (fs/pagecache), taken in I/O completion
    PageLru = 1250,     // the page cache's active/inactive LRU lists
    IoUringCompletion = 1300, // an io_uring ring's CQ side: posting CQEs, overflow, drain, reap lists
    ProcessTree = 1400, // pids, parents/children, process states (kernel/proc); wakes wait queues
    Futex = 1450,       // a futex hash bucket (kernel/proc/Futex.cpp); wakes threads
    Generic = 1500,     // small data guarded by a Guarded<T> that takes no other lock
    PciConfig = 1600,   // ECAM bus windows, mapped on first use (takes PageTable)
    PageTable = 1700,   // a page table's tree (allocates table pages)
    Heap = 1800,        // a slab cache (grows from the page allocator; may wake the reclaimer)
    WaitQueue = 2000,   // WaitQueue::m_lock (wake functions take the locks below)
    IoUringWork = 2050, // an io_uring ring's io-wq list (queued from page waiters' wake functions)
    Timer = 2100,       // per-CPU kernel timer queues (callbacks wake threads)
    ThreadWake = 2500,  // Thread::m_wake_lock: serialises wake-ups of one thread
    RunQueue = 3000,    // per-CPU run queues (two may nest, lower CPU index first)
    ThreadPool = 3500,  // thread objects and stacks
    PageAllocator = 4000, // buddy lists and per-CPU page caches
    IrqTable = 4200,      // the interrupt vector table (kernel/irq): installs and frees
    Registry = 4300,      // short list and counter updates: slab caches, block devices and
                          // their holders, the block worker's queue, the MMIO window
    HardwareWindow = 4400, // index/data register pairs used as one: IOAPIC, PCI 0xcf8/0xcfc
    Log = 9000,           // the kernel log: callable from anywhere
    Console = 9100,       // one console's transmitter (a UART), taken under the log lock
};
