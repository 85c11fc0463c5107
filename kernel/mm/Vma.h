// Vma: one virtual memory area of a user address space — a page-aligned range
// [start, end) with one protection, one kind of backing and one set of
// advice flags — and VmaList, the sorted set of an address space's VMAs.
//
// Rules (kept by VmaList, checked by check()):
//   - VMAs never overlap and are sorted by start; start < end; both are page
//     aligned and below USER_END.
//   - Anonymous private memory has backing == nullptr: its pages live only in
//     the page table (a page's refcount counts the entries that map it), so a
//     VMA can be split, merged or moved without touching any other object.
//   - A VMA with a backing maps page `offset / PAGE_SIZE + (va - start) /
//     PAGE_SIZE` of it at va, and holds one reference on the backing.
//   - Two neighbours merge when they touch, have equal flags, the same backing
//     and contiguous offsets (what mprotect, brk and adjacent mmaps create).
//
// Portable (no hardware access): host-tested in tests/host/VmaTest.cpp. VMA
// objects come from allocate_vma()/free_vma() (a slab cache in the kernel,
// operator new on the host).
#pragma once

#include "kernel/lib/IntrusiveList.h"
#include "kernel/lib/Result.h"
#include "kernel/lib/Types.h"
#include "kernel/mm/VmBacking.h"

namespace mm {

// The user half of the x86-64 address space ends below 2^47 (canonical
// addresses, SDM Vol. 1 §3.3.7.1); Linux keeps the last page unmapped too.
constexpr uptr USER_END = (uptr(1) << 47) - PAGE_SIZE;
// Lowest address mmap hands out or accepts (Linux vm.mmap_min_addr = 65536).
constexpr uptr MMAP_MIN_ADDR = 0x10000;

enum VmaFlag : u32 {
    VMA_READ = 1 << 0,       // = PROT_READ
    VMA_WRITE = 1 << 1,      // = PROT_WRITE
    VMA_EXEC = 1 << 2,       // = PROT_EXEC
    VMA_SHARED = 1 << 3,     // MAP_SHARED: writes reach the backing, fork shares
    VMA_GROWSDOWN = 1 << 4,  // a stack: a fault just below it extends it
    VMA_DONTFORK = 1 << 5,   // madvise(MADV_DONTFORK): not copied into a child
    VMA_SEQUENTIAL = 1 << 6, // madvise(MADV_SEQUENTIAL)
    VMA_RANDOM = 1 << 7,     // madvise(MADV_RANDOM)
    VMA_HEAP = 1 << 8,       // the brk area (for /proc/<pid>/maps "[heap]")
    VMA_STACK = 1 << 9,      // the initial stack ("[stack]")
    VMA_NORESERVE = 1 << 10, // MAP_NORESERVE (no commit accounting either way)
    VMA_NO_WRITE = 1 << 11,  // MAP_SHARED of a file opened read-only: mprotect(PROT_WRITE) is EACCES
};
constexpr u32 VMA_PROT_MASK = VMA_READ | VMA_WRITE | VMA_EXEC;

struct Vma {
    uptr start = 0;
    uptr end = 0;
    u32 flags = 0;
    VmBacking* backing = nullptr; // null: anonymous private
    u64 offset = 0;               // byte offset in the backing of `start`
    ListNode node;                // VmaList, sorted by start

    usize size() const { return end - start; }
    bool contains(uptr address) const { return address >= start && address < end; }
    bool is_anonymous() const { return backing == nullptr; }
    bool is_shared() const { return flags & VMA_SHARED; }
    // Index in the backing of the page at `address`.
    u64 page_index(uptr address) const { return (offset + (address - start)) >> PAGE_SHIFT; }
};

Vma* allocate_vma(); // nullptr when memory runs out
void free_vma(Vma* vma);

class VmaList {
public:
    using List = IntrusiveList<Vma, &Vma::node>;

    VmaList() = default;
    VmaList(const VmaList&) = delete;
    VmaList& operator=(const VmaList&) = delete;

    bool is_empty() const { return m_list.is_empty(); }
    usize count() const { return m_count; }
    List& list() { return m_list; }

    // The VMA containing `address`, or null.
    Vma* find(uptr address);
    // The first VMA that ends after `address` (contains it or lies above), or null.
    Vma* find_first_ending_after(uptr address);
    Vma* next(Vma& vma);
    Vma* previous(Vma& vma);
    // Whether no VMA intersects [start, end).
    bool is_free(uptr start, uptr end);

    // A free range of `length` bytes (page multiple) inside [low, high): the
    // highest one (Linux's top-down layout), or ENOMEM.
    Result<uptr> find_free_range(usize length, uptr low, uptr high);

    // Insert `vma` (must not overlap any VMA) and take ownership of it.
    void insert(Vma& vma);
    // Unlink `vma`; the caller frees it (after dropping its backing).
    void remove(Vma& vma);
    // Split `vma` at `address` (strictly inside, page aligned): `vma` keeps
    // [start, address), a new VMA [address, end) is inserted after it and
    // returned. Takes a backing reference for the new VMA. ENOMEM.
    Result<Vma*> split(Vma& vma, uptr address);
    // Make VMA boundaries fall on `start` and `end` (splitting the VMAs that
    // straddle them), so that [start, end) is covered by whole VMAs.
    Result<void> split_around(uptr start, uptr end);
    // Merge `vma` with its neighbours where the rules allow; returns the VMA
    // that now covers vma's range (freeing the absorbed ones).
    Vma* merge_neighbours(Vma& vma);

    static bool can_merge(const Vma& low, const Vma& high);

    // Verify the invariants above; false with nothing changed if broken.
    bool check();

private:
    List m_list;
    usize m_count = 0;
};

} // namespace mm
