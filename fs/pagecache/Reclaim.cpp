#include "fs/pagecache/Reclaim.h"

#include "fs/pagecache/Mapping.h"
#include "fs/pagecache/Counters.h"
#include "fs/pagecache/PageWait.h"
#include "fs/pagecache/Writeback.h"
#include "kernel/debug/Panic.h"
#include "kernel/lib/Atomic.h"
#include "kernel/log/Log.h"
#include "kernel/mm/PageAllocator.h"
#include "kernel/sched/Thread.h"
#include "kernel/sync/Guarded.h"
#include "kernel/sync/WaitQueue.h"

namespace pagecache {
namespace {

constexpr usize ISOLATE_BATCH = 32;
constexpr u64 WRITE_CLUSTER_PAGES = 32;   // a dirty page found by reclaim goes out with its neighbours
constexpr u64 NO_PROGRESS_SLEEP_NS = 5'000'000;
constexpr u32 DIRECT_RECLAIM_ATTEMPTS = 200; // x NO_PROGRESS_SLEEP_NS: 1 s before ENOMEM

struct LruLists {
    IntrusiveList<Page, &Page::list> active;   // head: most recently promoted
    IntrusiveList<Page, &Page::list> inactive; // head: newest; reclaim scans from the tail
    u64 nr_active = 0;
    u64 nr_inactive = 0;
};
Guarded<LruLists> g_lru{LockRank::PageLru, "page lru"};

Watermarks g_watermarks;
WaitQueue g_kreclaimd_wake;
Atomic<bool> g_kreclaimd_kicked{false};

u64 free_pages() { return mm::page_counters().free; }

enum class Outcome : u8 {
    Freed,
    Keep,     // back to the inactive head
    Activate, // to the active list
};

// `page` is isolated (off the lists) and referenced by us.
Outcome reclaim_one(Page& page, bool may_write)
{
    if (!trylock_page(page))
        return Outcome::Keep;
    Mapping* space = page.mapping;
    if (!space) {
        unlock_page(page); // truncated while isolated: our reference frees it
        return Outcome::Keep;
    }
    if (page_test_and_clear(page, PAGE_REFERENCED)) {
        unlock_page(page);
        return Outcome::Keep; // second chance
    }
    if (page_test(page, PAGE_WRITEBACK)) {
        unlock_page(page);
        return Outcome::Keep;
    }
    if (page_test(page, PAGE_DIRTY)) {
        if (!may_write) {
            unlock_page(page);
            return Outcome::Keep;
        }
        // The page lock keeps `space` alive while we gather; the pages'
        // Writeback state keeps it alive until their writes complete.
        PageBatch batch;
        if (space->clear_dirty_for_io(page))
            batch.add(page);
        for (u64 index = page.index + 1; index < page.index + WRITE_CLUSTER_PAGES && !batch.is_full(); index++) {
            Page* next = space->find_get_page(index);
            if (!next)
                break;
            bool added = false;
            if (trylock_page(*next)) {
                if (next->mapping == space && !page_test(*next, PAGE_WRITEBACK) && space->clear_dirty_for_io(*next)) {
                    batch.add(*next);
                    added = true;
                }
                unlock_page(*next);
            }
            put_page(*next);
            if (!added)
                break;
        }
        unlock_page(page);
        if (!batch.is_empty())
            space->ops().write_pages(*space, batch);
        return Outcome::Keep;
    }
    const bool removed = space->remove_page_if_unused(page, 1);
    unlock_page(page);
    if (!removed)
        return Outcome::Keep;
    counter::add(counter::RECLAIMED, 1);
    return Outcome::Freed;
}

void put_back(Page& page, Outcome outcome)
{
    g_lru.with([&](LruLists& lru) {
        // Only pages still in their tree go back (truncate nulls `mapping`
        // before it looks at the LRU: see Mapping::remove_page).
        if (!page.mapping || page_test(page, PAGE_LRU))
            return;
        page_set(page, PAGE_LRU);
        if (outcome == Outcome::Activate) {
            page_set(page, PAGE_ACTIVE);
            lru.active.push_front(page);
            lru.nr_active++;
        } else {
            lru.inactive.push_front(page);
            lru.nr_inactive++;
        }
    });
    put_page(page);
}

// Move pages from the active tail to the inactive head while the active list
// is the larger one.
void deactivate_some()
{
    g_lru.with([](LruLists& lru) {
        for (usize i = 0; i < ISOLATE_BATCH && lru.nr_active > lru.nr_inactive; i++) {
            Page* page = lru.active.pop_back();
            if (!page)
                break;
            lru.nr_active--;
            page_clear(*page, PAGE_ACTIVE | PAGE_REFERENCED);
            lru.inactive.push_front(*page);
            lru.nr_inactive++;
        }
    });
}

usize isolate(Page** pages)
{
    return g_lru.with([&](LruLists& lru) {
        usize n = 0;
        while (n < ISOLATE_BATCH) {
            Page* page = lru.inactive.pop_back();
            if (!page)
                break;
            lru.nr_inactive--;
            page_clear(*page, PAGE_LRU);
            get_page(*page); // in the tree, so its count is >= 1 here
            pages[n++] = page;
        }
        return n;
    });
}

u64 shrink(u64 target, bool may_write)
{
    const Counters before = counters();
    u64 budget = 2 * (before.active + before.inactive) + ISOLATE_BATCH;
    u64 freed = 0;
    while (freed < target && budget > 0) {
        deactivate_some();
        Page* pages[ISOLATE_BATCH];
        const usize n = isolate(pages);
        if (n == 0)
            break;
        budget = budget > n ? budget - n : 0;
        for (usize i = 0; i < n; i++) {
            const Outcome outcome = reclaim_one(*pages[i], may_write);
            if (outcome == Outcome::Freed) {
                freed++;
                put_page(*pages[i]); // the last reference: back to the allocator
            } else {
                put_back(*pages[i], outcome);
            }
        }
    }
    return freed;
}

void pressure_callback()
{
    if (!g_kreclaimd_kicked.exchange(true, MemoryOrder::AcqRel))
        g_kreclaimd_wake.wake_all();
}

constexpr usize MAX_SHRINKERS = 4;
constexpr u64 SHRINKER_BATCH = 128;
Atomic<ShrinkerScan> g_shrinkers[MAX_SHRINKERS];
Atomic<usize> g_shrinker_count{0};

void kreclaimd()
{
    for (;;) {
        wait_event(g_kreclaimd_wake, [] {
            return g_kreclaimd_kicked.load(MemoryOrder::Acquire) || free_pages() < g_watermarks.low_pages;
        });
        u32 idle_rounds = 0;
        while (free_pages() < g_watermarks.high_pages && idle_rounds < 20) {
            const u64 pages = shrink(ISOLATE_BATCH * 2, true);
            const u64 objects = run_shrinkers(SHRINKER_BATCH);
            if (pages == 0 && objects == 0) {
                // Nothing clean to drop: dirty pages are on their way out.
                idle_rounds++;
                sched::sleep_for(NO_PROGRESS_SLEEP_NS);
            } else {
                idle_rounds = 0;
            }
        }
        g_kreclaimd_kicked.store(false, MemoryOrder::Release);
    }
}

} // namespace

Watermarks watermarks() { return g_watermarks; }

void register_shrinker(ShrinkerScan scan)
{
    const usize slot = g_shrinker_count.load(MemoryOrder::Acquire);
    if (slot >= MAX_SHRINKERS)
        panic("pagecache: too many shrinkers");
    // Registered at boot, one at a time: the slot is published after its scan.
    g_shrinkers[slot].store(scan, MemoryOrder::Relaxed);
    g_shrinker_count.store(slot + 1, MemoryOrder::Release);
}

u64 run_shrinkers(u64 max_objects_each)
{
    u64 freed = 0;
    const usize count = g_shrinker_count.load(MemoryOrder::Acquire);
    for (usize i = 0; i < count; i++)
        freed += g_shrinkers[i].load(MemoryOrder::Relaxed)(max_objects_each);
    return freed;
}

void lru_add(Page& page)
{
    g_lru.with([&](LruLists& lru) {
        page_clear(page, PAGE_ACTIVE);
        page_set(page, PAGE_LRU);
        lru.inactive.push_front(page);
        lru.nr_inactive++;
    });
}

void lru_remove(Page& page)
{
    g_lru.with([&](LruLists& lru) {
        if (!page_test(page, PAGE_LRU))
            return; // isolated by reclaim, which will not put it back
        IntrusiveList<Page, &Page::list>::remove(page);
        if (page_test(page, PAGE_ACTIVE))
            lru.nr_active--;
        else
            lru.nr_inactive--;
        page_clear(page, PAGE_LRU | PAGE_ACTIVE);
    });
}

void mark_page_accessed(Page& page)
{
    if (!page_test_and_set(page, PAGE_REFERENCED))
        return;
    if (page_test(page, PAGE_ACTIVE) || !page_test(page, PAGE_LRU))
        return;
    // The second touch of an inactive page: promote it.
    g_lru.with([&](LruLists& lru) {
        if (!page_test(page, PAGE_LRU) || page_test(page, PAGE_ACTIVE))
            return;
        lru.inactive.remove(page);
        lru.nr_inactive--;
        page_set(page, PAGE_ACTIVE);
        page_clear(page, PAGE_REFERENCED);
        lru.active.push_front(page);
        lru.nr_active++;
    });
}

u64 shrink_page_cache(u64 target) { return shrink(target, true); }

u64 drop_clean_pages()
{
    u64 total = 0;
    for (;;) {
        // Two passes per round: the first clears referenced bits.
        const u64 freed = shrink(~0ul, false);
        total += freed;
        if (freed == 0)
            return total;
    }
}

Page* alloc_cache_page()
{
    for (u32 attempt = 0; attempt < DIRECT_RECLAIM_ATTEMPTS; attempt++) {
        // Leave the last pages to allocations that cannot wait.
        if (attempt > 0 || free_pages() > g_watermarks.min_pages) {
            if (Page* page = mm::alloc_page())
                return page;
        }
        pressure_callback();
        // Direct reclaim drops clean pages only: writing would take
        // filesystem locks the caller may hold.
        if (shrink(ISOLATE_BATCH, false) == 0)
            sched::sleep_for(NO_PROGRESS_SLEEP_NS);
    }
    log_warn("pagecache", "out of memory: no page could be reclaimed");
    return nullptr;
}

void init_reclaim()
{
    const u64 total = mm::page_counters().total;
    g_watermarks.min_pages = max(total / 128, 128ul);
    g_watermarks.low_pages = 2 * g_watermarks.min_pages;
    g_watermarks.high_pages = 3 * g_watermarks.min_pages;
    auto thread = Thread::create("kreclaimd", [] { kreclaimd(); }, {.detached = true});
    if (thread.is_error())
        panic("pagecache: cannot create kreclaimd (errno %d)", thread.error().code());
    thread.value()->start();
    mm::set_pressure_callback(pressure_callback, g_watermarks.low_pages);
    log_info("pagecache", "watermarks: min %lu low %lu high %lu pages", g_watermarks.min_pages,
             g_watermarks.low_pages, g_watermarks.high_pages);
}

Counters counters()
{
    Counters c {};
    c.cached = counter::get(counter::CACHED);
    c.dirty = counter::get(counter::DIRTY);
    c.writeback = counter::get(counter::WRITEBACK);
    g_lru.with([&](LruLists& lru) {
        c.active = lru.nr_active;
        c.inactive = lru.nr_inactive;
    });
    c.pages_read = counter::get(counter::PAGES_READ);
    c.read_bios = counter::get(counter::READ_BIOS);
    c.pages_written = counter::get(counter::PAGES_WRITTEN);
    c.write_bios = counter::get(counter::WRITE_BIOS);
    c.reclaimed = counter::get(counter::RECLAIMED);
    c.throttled = counter::get(counter::THROTTLED);
    c.max_dirty_seen = counter::get(counter::MAX_DIRTY_SEEN);
    c.direct_io_drain_waits = counter::get(counter::DIRECT_IO_DRAIN_WAITS);
    return c;
}

} // namespace pagecache
