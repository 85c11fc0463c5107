// ktest suite "uvm": user address spaces (kernel/mm/AddressSpace.h) —
// demand paging, populate_from, copy-on-write fork, munmap holes, mprotect,
// brk, mremap, madvise, mincore, pinning, TLB shootdown to the CPUs that ran
// a space, and teardown returning every page, table and VMA.
//
// Faults are driven through AddressSpace::handle_fault with the PageFaultInfo
// the #PF handler would build; contents are checked through the direct map
// at the physical address the page table translates to.
#include "arch/x86_64/PerCpu.h"
#include "arch/x86_64/mm/PageTable.h"
#include "kernel/irq/Ipi.h"
#include "kernel/lib/String.h"
#include "kernel/mm/AddressSpace.h"
#include "kernel/mm/DirectMap.h"
#include "kernel/mm/Heap.h"
#include "kernel/mm/PageAllocator.h"
#include "kernel/mm/PageRef.h"
#include "kernel/mm/SharedAnonymous.h"
#include "tests/ktest/Ktest.h"
#include "tests/ktest/ThreadTestUtil.h"
#include "uapi/mman.h"

namespace {

using UserSpace = mm::AddressSpace;
using mm::FaultResult;
using mm::MapRequest;

constexpr uptr BASE = 0x400000000; // 16 GiB: far from anything the tests choose by hint

struct Counters {
    u64 used_pages;
    u64 heap_bytes;
    u64 spaces;
    u64 shared_objects;

    static Counters now()
    {
        return {mm::page_counters().used(), mm::heap_allocated_bytes(), UserSpace::live_count(),
                mm::SharedAnonymous::live_count()};
    }
};

Result<uptr> map_anonymous(UserSpace& space, uptr address, usize length, u32 prot = PROT_READ | PROT_WRITE,
                           u32 flags = MAP_PRIVATE)
{
    MapRequest request;
    request.address = address;
    request.length = length;
    request.prot = prot;
    request.flags = flags | MAP_ANONYMOUS | (address ? MAP_FIXED : 0);
    return space.map(request);
}

FaultResult touch(UserSpace& space, uptr address, bool write)
{
    mm::PageFaultInfo info{address, write, false, true, false};
    return space.handle_fault(info);
}

// The byte at `address` read through the direct map; -1 if not mapped.
int peek(UserSpace& space, uptr address)
{
    mm::Translation translation = space.page_table().translate(address);
    if (!translation.is_mapped())
        return -1;
    return *phys_to_virt<u8>(translation.phys);
}

PhysAddr frame_of(UserSpace& space, uptr address) { return space.page_table().translate(address).phys; }
bool writable(UserSpace& space, uptr address) { return space.page_table().translate(address).is_writable(); }

void create_fault_fork_destroy(KtestContext& ktest_context);

} // namespace

KTEST(uvm, anonymous_pages_appear_zeroed_on_first_touch)
{
    auto created = UserSpace::create();
    KASSERT(!created.is_error());
    UserSpace* space = created.value();
    auto mapped = map_anonymous(*space, BASE, 4 * PAGE_SIZE);
    KASSERT(!mapped.is_error());
    KEXPECT_EQ(mapped.value(), BASE);
    KEXPECT_EQ(space->resident_pages(), 0ul);
    KEXPECT(touch(*space, BASE + PAGE_SIZE + 5, false) == FaultResult::Resolved);
    KEXPECT_EQ(peek(*space, BASE + PAGE_SIZE), 0);
    KEXPECT_EQ(space->resident_pages(), 1ul);
    KEXPECT(space->page_table().translate(BASE + PAGE_SIZE).is_user());
    // Outside any VMA: SEGV_MAPERR.
    KEXPECT(touch(*space, BASE + 4 * PAGE_SIZE, false) == FaultResult::MapError);
    KEXPECT(touch(*space, BASE - 1, true) == FaultResult::MapError);
    KEXPECT(touch(*space, mm::USER_END + 5, false) == FaultResult::MapError);
    space->unref();
}

KTEST(uvm, map_checks_arguments_like_linux)
{
    UserSpace* space = UserSpace::create().release_value();
    MapRequest request;
    request.length = 0;
    request.prot = PROT_READ;
    request.flags = MAP_PRIVATE | MAP_ANONYMOUS;
    KEXPECT_EQ(space->map(request).error().code(), EINVAL); // zero length
    request.length = PAGE_SIZE;
    request.flags = MAP_ANONYMOUS; // neither private nor shared
    KEXPECT_EQ(space->map(request).error().code(), EINVAL);
    request.flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
    request.address = BASE + 12; // unaligned fixed
    KEXPECT_EQ(space->map(request).error().code(), EINVAL);
    request.address = 0x1000; // below mmap_min_addr
    KEXPECT_EQ(space->map(request).error().code(), EPERM);
    request.address = mm::USER_END; // past the user half
    KEXPECT_EQ(space->map(request).error().code(), ENOMEM);
    // MAP_FIXED_NOREPLACE over an existing mapping: EEXIST.
    KASSERT(!map_anonymous(*space, BASE, 2 * PAGE_SIZE).is_error());
    request.address = BASE + PAGE_SIZE;
    request.flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE;
    KEXPECT_EQ(space->map(request).error().code(), EEXIST);
    // Non-fixed mappings go top-down below the mmap base, a hint is honoured when free.
    request.address = 0;
    request.flags = MAP_PRIVATE | MAP_ANONYMOUS;
    uptr first = space->map(request).release_value();
    uptr second = space->map(request).release_value();
    KEXPECT(first < mm::MMAP_BASE && first + PAGE_SIZE <= mm::MMAP_BASE);
    KEXPECT_EQ(second, first - PAGE_SIZE);
    KEXPECT_EQ(space->vma_count(), 2ul); // the two adjacent ones merged
    request.address = BASE + 64 * PAGE_SIZE + 7;
    KEXPECT_EQ(space->map(request).release_value(), BASE + 64 * PAGE_SIZE);
    space->unref();
}

KTEST(uvm, populate_from_fills_inactive_space_and_read_only_vmas)
{
    UserSpace* space = UserSpace::create().release_value();
    KASSERT(!map_anonymous(*space, BASE, 3 * PAGE_SIZE, PROT_READ | PROT_EXEC).is_error());
    static char text[6000];
    for (usize i = 0; i < sizeof(text); i++)
        text[i] = static_cast<char>('a' + i % 26);
    // Straddles pages, starts unaligned.
    KEXPECT(!space->populate_from(BASE + 100, text, sizeof(text)).is_error());
    KEXPECT_EQ(peek(*space, BASE + 100), 'a');
    KEXPECT_EQ(peek(*space, BASE + 100 + 4000), 'a' + 4000 % 26);
    KEXPECT(!writable(*space, BASE)); // the VMA stays read-only for the program
    KEXPECT(space->page_table().translate(BASE).is_executable());
    KEXPECT(touch(*space, BASE, true) == FaultResult::AccessError);
    KEXPECT(!space->populate_from(BASE + PAGE_SIZE, nullptr, 10).is_error()); // zeroes
    KEXPECT_EQ(peek(*space, BASE + PAGE_SIZE), 0);
    // Outside every VMA: EFAULT.
    KEXPECT_EQ(space->populate_from(BASE + 3 * PAGE_SIZE, text, 1).error().code(), EFAULT);
    space->unref();
}

KTEST(uvm, fork_shares_pages_copy_on_write)
{
    UserSpace* parent = UserSpace::create().release_value();
    KASSERT(!map_anonymous(*parent, BASE, 2 * PAGE_SIZE).is_error());
    KASSERT(!parent->populate_from(BASE, "parent", 7).is_error());
    KASSERT(!parent->populate_from(BASE + PAGE_SIZE, "second", 7).is_error());
    KEXPECT(touch(*parent, BASE, true) == FaultResult::Resolved);
    KEXPECT(writable(*parent, BASE));
    PhysAddr original = frame_of(*parent, BASE);

    auto forked = parent->fork();
    KASSERT(!forked.is_error());
    UserSpace* child = forked.value();
    // Both map the same frame read-only.
    KEXPECT_EQ(frame_of(*child, BASE), original);
    KEXPECT(!writable(*parent, BASE));
    KEXPECT(!writable(*child, BASE));
    KEXPECT_EQ(mm::page_ref_count(*mm::phys_to_page(original)), 2);

    // The child's write breaks COW: a copy with the same contents.
    KEXPECT(touch(*child, BASE, true) == FaultResult::Resolved);
    KEXPECT(frame_of(*child, BASE) != original);
    KEXPECT(writable(*child, BASE));
    KEXPECT_EQ(peek(*child, BASE), 'p');
    *phys_to_virt<u8>(frame_of(*child, BASE)) = 'C';
    KEXPECT_EQ(peek(*parent, BASE), 'p');
    // Now the parent is the only user of the frame: its write reuses it.
    KEXPECT_EQ(mm::page_ref_count(*mm::phys_to_page(original)), 1);
    KEXPECT(touch(*parent, BASE, true) == FaultResult::Resolved);
    KEXPECT_EQ(frame_of(*parent, BASE), original);
    KEXPECT(writable(*parent, BASE));
    // The untouched second page is still shared.
    KEXPECT_EQ(frame_of(*parent, BASE + PAGE_SIZE), frame_of(*child, BASE + PAGE_SIZE));
    child->unref();
    // With the child gone the parent's second page is exclusive again.
    KEXPECT_EQ(mm::page_ref_count(*mm::phys_to_page(frame_of(*parent, BASE + PAGE_SIZE))), 1);
    parent->unref();
}

KTEST(uvm, shared_anonymous_memory_stays_shared_across_fork)
{
    UserSpace* parent = UserSpace::create().release_value();
    KASSERT(!map_anonymous(*parent, BASE, 2 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED).is_error());
    UserSpace* child = parent->fork().release_value();
    // Neither touched it before fork: they still meet in the same page.
    KEXPECT(touch(*child, BASE, true) == FaultResult::Resolved);
    *phys_to_virt<u8>(frame_of(*child, BASE)) = 'S';
    KEXPECT(touch(*parent, BASE, false) == FaultResult::Resolved);
    KEXPECT_EQ(peek(*parent, BASE), 'S');
    KEXPECT_EQ(frame_of(*parent, BASE), frame_of(*child, BASE));
    parent->unref();
    KEXPECT_EQ(peek(*child, BASE), 'S');
    child->unref();
}

KTEST(uvm, dontfork_vmas_stay_out_of_the_child)
{
    UserSpace* parent = UserSpace::create().release_value();
    KASSERT(!map_anonymous(*parent, BASE, 3 * PAGE_SIZE).is_error());
    KEXPECT(!parent->advise(BASE + PAGE_SIZE, PAGE_SIZE, MADV_DONTFORK).is_error());
    KEXPECT_EQ(parent->vma_count(), 3ul);
    UserSpace* child = parent->fork().release_value();
    KEXPECT_EQ(child->vma_count(), 2ul);
    KEXPECT(touch(*child, BASE + PAGE_SIZE, false) == FaultResult::MapError);
    KEXPECT(touch(*child, BASE, false) == FaultResult::Resolved);
    KEXPECT(!parent->advise(BASE + PAGE_SIZE, PAGE_SIZE, MADV_DOFORK).is_error());
    KEXPECT_EQ(parent->vma_count(), 1ul); // merged back
    child->unref();
    parent->unref();
}

KTEST(uvm, munmap_punches_a_hole_in_the_middle)
{
    UserSpace* space = UserSpace::create().release_value();
    KASSERT(!map_anonymous(*space, BASE, 8 * PAGE_SIZE).is_error());
    for (uptr page = BASE; page < BASE + 8 * PAGE_SIZE; page += PAGE_SIZE)
        KEXPECT(touch(*space, page, true) == FaultResult::Resolved);
    u64 used = mm::page_counters().used();
    KEXPECT(!space->unmap(BASE + 2 * PAGE_SIZE, 3 * PAGE_SIZE).is_error());
    KEXPECT_EQ(space->vma_count(), 2ul);
    KEXPECT_EQ(space->resident_pages(), 5ul);
    KEXPECT(mm::page_counters().used() <= used - 3);
    KEXPECT(touch(*space, BASE + 3 * PAGE_SIZE, false) == FaultResult::MapError);
    KEXPECT(touch(*space, BASE + 5 * PAGE_SIZE, false) == FaultResult::Resolved);
    // Holes are fine, unaligned starts and zero length are not.
    KEXPECT(!space->unmap(BASE, 16 * PAGE_SIZE).is_error());
    KEXPECT_EQ(space->vma_count(), 0ul);
    KEXPECT_EQ(space->unmap(BASE + 1, PAGE_SIZE).error().code(), EINVAL);
    KEXPECT_EQ(space->unmap(BASE, 0).error().code(), EINVAL);
    space->unref();
}

KTEST(uvm, mprotect_changes_vmas_and_entries)
{
    UserSpace* space = UserSpace::create().release_value();
    KASSERT(!map_anonymous(*space, BASE, 4 * PAGE_SIZE).is_error());
    KEXPECT(touch(*space, BASE + PAGE_SIZE, true) == FaultResult::Resolved);
    KEXPECT(!space->protect(BASE + PAGE_SIZE, PAGE_SIZE, PROT_READ).is_error());
    KEXPECT_EQ(space->vma_count(), 3ul);
    KEXPECT(!writable(*space, BASE + PAGE_SIZE));
    KEXPECT(touch(*space, BASE + PAGE_SIZE, true) == FaultResult::AccessError);
    KEXPECT(touch(*space, BASE + PAGE_SIZE, false) == FaultResult::Resolved);
    KEXPECT(!space->protect(BASE + PAGE_SIZE, PAGE_SIZE, PROT_NONE).is_error());
    KEXPECT(touch(*space, BASE + PAGE_SIZE, false) == FaultResult::AccessError);
    KEXPECT(!space->page_table().translate(BASE + PAGE_SIZE).is_user());
    KEXPECT(!space->protect(BASE, 4 * PAGE_SIZE, PROT_READ | PROT_WRITE).is_error());
    KEXPECT_EQ(space->vma_count(), 1ul);
    // Writable again only after the write fault re-checks the page.
    KEXPECT(touch(*space, BASE + PAGE_SIZE, true) == FaultResult::Resolved);
    KEXPECT(writable(*space, BASE + PAGE_SIZE));
    // A hole in the range: ENOMEM, applied up to the hole (as Linux). Bad bits: EINVAL.
    KEXPECT_EQ(space->protect(BASE, 8 * PAGE_SIZE, PROT_READ).error().code(), ENOMEM);
    KEXPECT(!writable(*space, BASE + PAGE_SIZE));
    KEXPECT(touch(*space, BASE + PAGE_SIZE, true) == FaultResult::AccessError);
    KEXPECT_EQ(space->protect(BASE + 4 * PAGE_SIZE, PAGE_SIZE, PROT_READ).error().code(), ENOMEM);
    KEXPECT_EQ(space->protect(BASE, PAGE_SIZE, 0x80).error().code(), EINVAL);
    KEXPECT_EQ(space->protect(BASE + 8, PAGE_SIZE, PROT_READ).error().code(), EINVAL);
    space->unref();
}

KTEST(uvm, brk_grows_and_shrinks_the_heap)
{
    UserSpace* space = UserSpace::create().release_value();
    space->set_brk_start(BASE);
    KEXPECT_EQ(space->brk(0), BASE); // query
    KEXPECT_EQ(space->brk(BASE + 10000), BASE + 10000);
    KEXPECT_EQ(space->vma_count(), 1ul);
    KEXPECT(touch(*space, BASE + 9000, true) == FaultResult::Resolved);
    KEXPECT(touch(*space, BASE + 3 * PAGE_SIZE, true) == FaultResult::MapError);
    KEXPECT_EQ(space->brk(BASE + 5 * PAGE_SIZE), BASE + 5 * PAGE_SIZE);
    KEXPECT_EQ(space->vma_count(), 1ul); // extended, not a second VMA
    KEXPECT_EQ(space->brk(BASE + 100), BASE + 100);
    KEXPECT(touch(*space, BASE + PAGE_SIZE, false) == FaultResult::MapError);
    KEXPECT_EQ(space->brk(BASE - PAGE_SIZE), BASE + 100); // below the start: unchanged
    // Growing into another mapping fails and leaves the break alone.
    KASSERT(!map_anonymous(*space, BASE + 4 * PAGE_SIZE, PAGE_SIZE).is_error());
    KEXPECT_EQ(space->brk(BASE + 6 * PAGE_SIZE), BASE + 100);
    space->unref();
}

KTEST(uvm, mremap_grows_in_place_or_moves_the_pages)
{
    UserSpace* space = UserSpace::create().release_value();
    KASSERT(!map_anonymous(*space, BASE, 2 * PAGE_SIZE).is_error());
    KASSERT(!space->populate_from(BASE + PAGE_SIZE, "moved", 6).is_error());
    // Room after it: grows in place.
    KEXPECT_EQ(space->remap(BASE, 2 * PAGE_SIZE, 4 * PAGE_SIZE, 0, 0).release_value(), BASE);
    KEXPECT(touch(*space, BASE + 3 * PAGE_SIZE, true) == FaultResult::Resolved);
    // Blocked: ENOMEM without MREMAP_MAYMOVE, moved with it.
    KASSERT(!map_anonymous(*space, BASE + 4 * PAGE_SIZE, PAGE_SIZE).is_error());
    KEXPECT_EQ(space->remap(BASE, 4 * PAGE_SIZE, 8 * PAGE_SIZE, 0, 0).error().code(), ENOMEM);
    PhysAddr frame = frame_of(*space, BASE + PAGE_SIZE);
    auto moved = space->remap(BASE, 4 * PAGE_SIZE, 8 * PAGE_SIZE, MREMAP_MAYMOVE, 0);
    KASSERT(!moved.is_error());
    uptr target = moved.value();
    KEXPECT(target != BASE);
    KEXPECT_EQ(frame_of(*space, target + PAGE_SIZE), frame); // the page itself moved
    KEXPECT_EQ(peek(*space, target + PAGE_SIZE), 'm');
    KEXPECT(touch(*space, BASE, false) == FaultResult::MapError);
    KEXPECT(touch(*space, target + 7 * PAGE_SIZE, true) == FaultResult::Resolved);
    // MREMAP_FIXED to a chosen place; shrinking; errors.
    auto fixed = space->remap(target, 8 * PAGE_SIZE, 2 * PAGE_SIZE, MREMAP_MAYMOVE | MREMAP_FIXED, BASE + 64 * PAGE_SIZE);
    KEXPECT_EQ(fixed.release_value(), BASE + 64 * PAGE_SIZE);
    KEXPECT_EQ(peek(*space, BASE + 65 * PAGE_SIZE), 'm');
    KEXPECT_EQ(space->remap(BASE + 64 * PAGE_SIZE, 2 * PAGE_SIZE, PAGE_SIZE, 0, 0).release_value(), BASE + 64 * PAGE_SIZE);
    KEXPECT(touch(*space, BASE + 65 * PAGE_SIZE, false) == FaultResult::MapError);
    KEXPECT_EQ(space->remap(BASE + 32 * PAGE_SIZE, PAGE_SIZE, 2 * PAGE_SIZE, MREMAP_MAYMOVE, 0).error().code(), EFAULT);
    KEXPECT_EQ(space->remap(BASE + 64 * PAGE_SIZE, PAGE_SIZE, 2 * PAGE_SIZE, MREMAP_FIXED, BASE).error().code(), EINVAL);
    KEXPECT_EQ(space->remap(BASE + 64 * PAGE_SIZE, PAGE_SIZE, 0, 0, 0).error().code(), EINVAL);
    space->unref();
}

KTEST(uvm, madvise_dontneed_drops_pages_and_mincore_sees_it)
{
    UserSpace* space = UserSpace::create().release_value();
    KASSERT(!map_anonymous(*space, BASE, 4 * PAGE_SIZE).is_error());
    KASSERT(!space->populate_from(BASE, "data", 5).is_error());
    KEXPECT(touch(*space, BASE + 2 * PAGE_SIZE, true) == FaultResult::Resolved);
    u8 vector[4] = {9, 9, 9, 9};
    KEXPECT(!space->mincore(BASE, 4 * PAGE_SIZE, vector).is_error());
    KEXPECT(vector[0] == 1 && vector[1] == 0 && vector[2] == 1 && vector[3] == 0);
    KEXPECT(!space->advise(BASE, 4 * PAGE_SIZE, MADV_DONTNEED).is_error());
    KEXPECT_EQ(space->resident_pages(), 0ul);
    KEXPECT(touch(*space, BASE, false) == FaultResult::Resolved);
    KEXPECT_EQ(peek(*space, BASE), 0); // private anonymous: zeroes again
    KEXPECT_EQ(space->mincore(BASE, 8 * PAGE_SIZE, vector).error().code(), ENOMEM);
    KEXPECT_EQ(space->mincore(BASE + 1, PAGE_SIZE, vector).error().code(), EINVAL);
    KEXPECT_EQ(space->advise(BASE, PAGE_SIZE, 12345).error().code(), EINVAL);
    KEXPECT_EQ(space->advise(BASE, 8 * PAGE_SIZE, MADV_WILLNEED).error().code(), ENOMEM);
    KEXPECT(!space->advise(BASE, PAGE_SIZE, MADV_SEQUENTIAL).is_error());
    KEXPECT_EQ(space->vma_count(), 2ul);
    KEXPECT(!space->advise(BASE, PAGE_SIZE, MADV_NORMAL).is_error());
    KEXPECT_EQ(space->vma_count(), 1ul);
    space->unref();
}

KTEST(uvm, stack_vma_grows_down_to_a_fault)
{
    UserSpace* space = UserSpace::create().release_value();
    uptr top = BASE + 64 * PAGE_SIZE;
    KASSERT(!map_anonymous(*space, top - PAGE_SIZE, PAGE_SIZE, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_GROWSDOWN).is_error());
    KEXPECT(touch(*space, top - 3 * PAGE_SIZE + 8, true) == FaultResult::Resolved);
    KEXPECT_EQ(space->vma_count(), 1ul);
    KEXPECT(touch(*space, top - 2 * PAGE_SIZE, true) == FaultResult::Resolved);
    // Not beyond the stack limit.
    KEXPECT(touch(*space, top - mm::STACK_MAX - PAGE_SIZE, true) == FaultResult::MapError);
    space->unref();
}

KTEST(uvm, pinned_pages_outlive_munmap_until_unpinned)
{
    create_fault_fork_destroy(ktest_context); // warm the slab caches
    u64 baseline = Counters::now().used_pages;
    UserSpace* space = UserSpace::create().release_value();
    KASSERT(!map_anonymous(*space, BASE, 2 * PAGE_SIZE).is_error());
    Page* pages[2] = {};
    KASSERT(!space->pin_user_pages(BASE, 2, true, pages).is_error());
    KEXPECT(mm::page_maybe_pinned(*pages[0]));
    KEXPECT(writable(*space, BASE));
    // fork: the pinned page is not shared with the child.
    UserSpace* child = space->fork().release_value();
    KEXPECT(frame_of(*child, BASE) != mm::page_to_phys(pages[0]));
    KEXPECT(writable(*space, BASE));
    child->unref();
    KEXPECT(!space->unmap(BASE, 2 * PAGE_SIZE).is_error());
    KEXPECT_EQ(mm::page_ref_count(*pages[0]), mm::PIN_BIAS); // only the pin holds it now
    *static_cast<u8*>(mm::page_address(pages[1])) = 0x5a; // "DMA" after munmap: still ours
    space->unref();
    UserSpace::unpin_user_pages(pages, 2);
    KEXPECT_EQ(Counters::now().used_pages, baseline);
    // Pinning unmapped or read-only memory for a device write: EFAULT.
    space = UserSpace::create().release_value();
    KASSERT(!map_anonymous(*space, BASE, PAGE_SIZE, PROT_READ).is_error());
    KEXPECT_EQ(space->pin_user_pages(BASE, 1, true, pages).error().code(), EFAULT);
    KEXPECT_EQ(space->pin_user_pages(BASE + PAGE_SIZE, 1, false, pages).error().code(), EFAULT);
    space->unref();
}

KTEST(uvm, shootdown_reaches_the_cpus_that_ran_the_space)
{
    if (percpu::online_count() < 2) {
        log_raw("ktest:   shootdown_reaches_the_cpus_that_ran_the_space: skipped, needs 2 CPUs\n");
        return;
    }
    UserSpace* space = UserSpace::create().release_value();
    KASSERT(!map_anonymous(*space, BASE, PAGE_SIZE).is_error());
    KEXPECT(touch(*space, BASE, true) == FaultResult::Resolved);
    u32 self = current_cpu_index();
    u32 other = self == 0 ? 1 : 0;
    Atomic<bool> done{false};
    Thread* thread = ktest_util::spawn(ktest_context, "uvm-activate", [space, &done] {
        space->activate();
        space->deactivate();
        done.store(true, MemoryOrder::Release);
    }, other);
    KASSERT(thread);
    thread->join();
    KEXPECT(done.load(MemoryOrder::Acquire));
    KEXPECT(space->cpus_seen().has(other));
    u64 before = ipi::tlb_shootdowns_handled(other);
    KEXPECT(!space->protect(BASE, PAGE_SIZE, PROT_READ).is_error());
    KEXPECT(ipi::tlb_shootdowns_handled(other) > before);
    space->unref();
}

KTEST(uvm, activate_loads_the_page_table_and_faults_resolve_on_it)
{
    UserSpace* space = UserSpace::create().release_value();
    KASSERT(!map_anonymous(*space, BASE, PAGE_SIZE).is_error());
    KASSERT(!space->populate_from(BASE, "cr3", 4).is_error());
    bool interrupts = x86::save_and_disable_interrupts();
    space->activate();
    bool active = UserSpace::active() == space && x86::read_cr3() == space->page_table().root();
    mm::PageFaultInfo info{BASE + PAGE_SIZE, false, false, true, false};
    space->deactivate();
    x86::restore_interrupts(interrupts);
    KEXPECT(active);
    KEXPECT(UserSpace::active() == nullptr);
    // With no space active, a fault cannot be resolved.
    KEXPECT(mm::handle_page_fault(info) == FaultResult::MapError);
    space->unref();
}

namespace {

void create_fault_fork_destroy(KtestContext& ktest_context)
{
    UserSpace* space = UserSpace::create().release_value();
    // Several VMAs spread over different page tables, shared and private.
    KASSERT(!map_anonymous(*space, BASE, 16 * PAGE_SIZE).is_error());
    KASSERT(!map_anonymous(*space, BASE + 3 * GiB, 4 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED).is_error());
    KASSERT(!map_anonymous(*space, 0x7f0000000000, 2 * PAGE_SIZE).is_error());
    for (uptr page = BASE; page < BASE + 16 * PAGE_SIZE; page += 3 * PAGE_SIZE)
        (void)touch(*space, page, true);
    (void)touch(*space, BASE + 3 * GiB, true);
    (void)touch(*space, 0x7f0000000000, false);
    UserSpace* child = space->fork().release_value();
    (void)touch(*child, BASE, true);
    (void)touch(*child, BASE + 3 * GiB + PAGE_SIZE, true);
    UserSpace* grandchild = child->fork().release_value();
    (void)touch(*grandchild, BASE + 3 * PAGE_SIZE, true);
    KEXPECT(!space->unmap(BASE + 4 * PAGE_SIZE, 4 * PAGE_SIZE).is_error());
    space->unref();
    grandchild->unref();
    child->unref();
}

} // namespace

KTEST(uvm, teardown_returns_every_page_table_and_vma)
{
    // One round first: slab caches keep the slabs they grew (not a leak).
    create_fault_fork_destroy(ktest_context);
    Counters before = Counters::now();
    for (int round = 0; round < 8; round++)
        create_fault_fork_destroy(ktest_context);
    Counters after = Counters::now();
    KEXPECT_EQ(after.used_pages, before.used_pages);
    KEXPECT_EQ(after.heap_bytes, before.heap_bytes);
    KEXPECT_EQ(after.spaces, before.spaces);
    KEXPECT_EQ(after.shared_objects, before.shared_objects);
}

KTEST(uvm, munmap_frees_page_tables_of_the_hole)
{
    UserSpace* space = UserSpace::create().release_value();
    // 4 MiB at a 1 GiB boundary: two page tables and a page directory of their own.
    uptr start = 0x500000000;
    KASSERT(!map_anonymous(*space, start, 4 * MiB).is_error());
    (void)touch(*space, start, true);
    (void)touch(*space, start + 3 * MiB, true);
    u64 used = mm::page_counters().used();
    KEXPECT(!space->unmap(start, 4 * MiB).is_error());
    // 2 pages, 2 page tables, the page directory and the PDPT.
    KEXPECT_EQ(used - mm::page_counters().used(), 6ul);
    space->unref();
}

// --- file mappings through the page cache (vfs::MappedFile) --------------------

#include "fs/vfs/FileApi.h"
#include "fs/vfs/MappedFile.h"

namespace {

// Map `file` like mmap(2) does: the hook hands out the backing, the VMA takes its own reference.
Result<uptr> map_file(UserSpace& space, vfs::File& file, uptr address, usize length, u32 prot, u32 flags)
{
    vfs::MmapRequest hook;
    hook.length = length;
    hook.protection = prot;
    hook.flags = flags;
    TRY(vfs::mmap(file, hook));
    MapRequest request;
    request.address = address;
    request.length = length;
    request.prot = prot;
    request.flags = flags | MAP_FIXED;
    request.backing = hook.backing;
    auto mapped = space.map(request);
    hook.backing->unref();
    return mapped;
}

} // namespace

KTEST(uvm, file_mappings_share_the_page_cache)
{
    u64 backings = vfs::MappedFile::live_count();
    auto opened = vfs::open("/uvm-mapped", O_RDWR | O_CREAT | O_TRUNC);
    KASSERT(!opened.is_error());
    vfs::File* file = opened.value();
    static char data[2 * PAGE_SIZE + 4];
    memset(data, 'f', sizeof(data));
    KASSERT(!vfs::pwrite(*file, data, sizeof(data), 0).is_error());

    UserSpace* space = UserSpace::create().release_value();
    KASSERT(!map_file(*space, *file, BASE, 4 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED).is_error());
    KASSERT(!map_file(*space, *file, BASE + 16 * PAGE_SIZE, 2 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE).is_error());
    KEXPECT(vfs::MappedFile::live_count() == backings + 2);
    (void)vfs::close(file); // the mappings keep it open

    // MAP_SHARED: the page-cache page itself, read-only until written.
    KEXPECT(touch(*space, BASE, false) == FaultResult::Resolved);
    KEXPECT_EQ(peek(*space, BASE), 'f');
    KEXPECT(!writable(*space, BASE));
    KEXPECT(touch(*space, BASE, true) == FaultResult::Resolved);
    KEXPECT(writable(*space, BASE));
    *phys_to_virt<u8>(frame_of(*space, BASE) + 7) = 'M';
    auto reopened = vfs::open("/uvm-mapped", O_RDWR);
    KASSERT(!reopened.is_error());
    char byte = 0;
    KEXPECT(!vfs::pread(*reopened.value(), &byte, 1, 7).is_error());
    KEXPECT_EQ(byte, 'M'); // read() sees the store
    KEXPECT(!vfs::pwrite(*reopened.value(), "W", 1, 8).is_error());
    KEXPECT_EQ(*phys_to_virt<u8>(frame_of(*space, BASE) + 8), 'W'); // the mapping sees write()

    // MAP_PRIVATE: shares the cache page until written, then a private copy.
    KEXPECT(touch(*space, BASE + 16 * PAGE_SIZE, false) == FaultResult::Resolved);
    KEXPECT_EQ(frame_of(*space, BASE + 16 * PAGE_SIZE), frame_of(*space, BASE));
    KEXPECT(touch(*space, BASE + 16 * PAGE_SIZE, true) == FaultResult::Resolved);
    KEXPECT(frame_of(*space, BASE + 16 * PAGE_SIZE) != frame_of(*space, BASE));
    *phys_to_virt<u8>(frame_of(*space, BASE + 16 * PAGE_SIZE)) = 'P';
    KEXPECT(!vfs::pread(*reopened.value(), &byte, 1, 0).is_error());
    KEXPECT_EQ(byte, 'f');

    // The partial last page maps; a page wholly past EOF is SIGBUS.
    KEXPECT(touch(*space, BASE + 2 * PAGE_SIZE + 100, false) == FaultResult::Resolved);
    KEXPECT(touch(*space, BASE + 3 * PAGE_SIZE, false) == FaultResult::BusError);
    u8 vector[4];
    KEXPECT(!space->mincore(BASE, 4 * PAGE_SIZE, vector).is_error());
    KEXPECT(vector[0] == 1 && vector[1] == 1 && vector[3] == 0);
    KEXPECT(!space->sync(BASE, 4 * PAGE_SIZE, MS_SYNC).is_error());
    space->unref();
    KEXPECT(vfs::MappedFile::live_count() == backings);
    (void)vfs::close(reopened.value());
    KEXPECT(!vfs::unlink("/uvm-mapped").is_error());
}
