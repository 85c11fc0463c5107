#include "fs/pagecache/Writeback.h"

#include "fs/pagecache/Counters.h"
#include "fs/pagecache/PageWait.h"
#include "kernel/block/BlkMq.h"
#include "kernel/block/BlockDevice.h"
#include "kernel/debug/Panic.h"
#include "kernel/lib/Atomic.h"
#include "kernel/lib/Format.h"
#include "kernel/log/Log.h"
#include "kernel/mm/PageAllocator.h"
#include "kernel/sched/Thread.h"
#include "kernel/sync/Mutex.h"
#include "kernel/time/Clock.h"

namespace pagecache {
namespace {

constexpr u64 THROTTLE_RECHECK_NS = 50'000'000;
constexpr u64 NO_PROGRESS_SLEEP_NS = 10'000'000;
constexpr u64 BACKGROUND_CHUNK_PAGES = 1024; // per space per turn: fairness between files

struct Registry {
    Writeback* contexts[block::MAX_BLOCK_DEVICES] = {};
    Atomic<usize> count{0}; // written under g_registry_lock; count() reads it without
};
Registry g_registry;
Mutex g_registry_lock{LockRank::MutexGeneric, "writeback registry"};

Atomic<u64> g_dirty_expire_ns{DIRTY_EXPIRE_NS};
Atomic<u64> g_override_background{0};
Atomic<u64> g_override_hard{0};

WaitQueue g_throttle_wait;
Atomic<u32> g_throttled_writers{0};
Atomic<u64> g_throttle_hard{~0ul}; // the count the sleeping writers wait for

u64 dirty_and_writeback() { return counter::get(counter::DIRTY) + counter::get(counter::WRITEBACK); }

void record_max_dirty(u64 value)
{
    u64 seen = counter::get(counter::MAX_DIRTY_SEEN);
    while (value > seen
           && !counter::g_cells[counter::MAX_DIRTY_SEEN].compare_exchange_strong(seen, value, MemoryOrder::Relaxed, MemoryOrder::Relaxed)) { }
}

void flush_batch(Mapping& space, PageBatch& batch)
{
    if (batch.is_empty())
        return;
    space.ops().write_pages(space, batch);
    batch.clear();
}

} // namespace

DirtyLimits dirty_limits()
{
    const u64 background = g_override_background.load(MemoryOrder::Relaxed);
    const u64 hard = g_override_hard.load(MemoryOrder::Relaxed);
    if (hard)
        return {background, hard};
    const u64 dirtyable = mm::page_counters().free + counter::get(counter::CACHED);
    DirtyLimits limits;
    limits.hard_pages = max(dirtyable * DIRTY_HARD_PERCENT / 100, DIRTY_MIN_HARD_PAGES);
    limits.background_pages = max(dirtyable * DIRTY_BACKGROUND_PERCENT / 100, DIRTY_MIN_HARD_PAGES / 2);
    return limits;
}

u64 dirty_expire_ns() { return g_dirty_expire_ns.load(MemoryOrder::Relaxed); }
void set_dirty_expire_ns(u64 expire_ns) { g_dirty_expire_ns.store(expire_ns, MemoryOrder::Relaxed); }

void set_dirty_limits_override(u64 background_pages, u64 hard_pages)
{
    g_override_background.store(background_pages, MemoryOrder::Relaxed);
    g_override_hard.store(hard_pages, MemoryOrder::Relaxed);
    g_throttle_wait.wake_all();
}

// --- writing one space --------------------------------------------------------------

void write_dirty_pages(Mapping& space, WritebackControl& control)
{
    if (!space.has_backing_store())
        return;
    const bool integrity = control.mode == SyncMode::Integrity;
    const RadixTree::Tag tag = integrity ? RadixTree::TAG_TOWRITE : RadixTree::TAG_DIRTY;
    if (integrity)
        space.tag_for_sync(control.first_index, control.last_index);

    PageBatch batch;
    u64 index = control.first_index;
    bool done = false;
    while (!done && control.nr_to_write > 0) {
        Page* pages[PageBatch::CAPACITY];
        const usize found = space.gang_lookup(index, control.last_index, tag, pages, PageBatch::CAPACITY);
        if (found == 0)
            break;
        for (usize i = 0; i < found; i++) {
            Page& page = *pages[i];
            if (page.index == ~0ul)
                done = true;
            else
                index = page.index + 1;
            if (control.nr_to_write == 0) {
                put_page(page);
                continue;
            }
            if (!trylock_page(page)) {
                // Never sleep on a page lock with unsubmitted writeback in hand.
                flush_batch(space, batch);
                lock_page(page);
            }
            if (page.mapping != &space || !page_test(page, PAGE_DIRTY)) {
                unlock_page(page);
                put_page(page);
                continue;
            }
            if (page_test(page, PAGE_WRITEBACK)) {
                if (!integrity) {
                    unlock_page(page);
                    put_page(page);
                    continue;
                }
                flush_batch(space, batch);
                wait_on_page_writeback(page);
            }
            const bool started = space.clear_dirty_for_io(page);
            unlock_page(page);
            if (started) {
                if (!batch.is_empty() && (batch.is_full() || batch.last()->index + 1 != page.index))
                    flush_batch(space, batch);
                batch.add(page); // pinned by its Writeback state from here
                control.nr_to_write--;
            }
            put_page(page);
        }
    }
    flush_batch(space, batch);
}

void wait_writeback_range(Mapping& space, u64 start_byte, u64 end_byte)
{
    u64 index = start_byte >> PAGE_SHIFT;
    const u64 last = end_byte >> PAGE_SHIFT;
    for (;;) {
        Page* pages[PageBatch::CAPACITY];
        const usize found = space.gang_lookup(index, last, RadixTree::TAG_WRITEBACK, pages, PageBatch::CAPACITY);
        if (found == 0)
            return;
        for (usize i = 0; i < found; i++) {
            wait_on_page_writeback(*pages[i]);
            index = pages[i]->index + 1;
            put_page(*pages[i]);
        }
        if (index == 0)
            return; // wrapped past the last index
    }
}

Result<void> write_and_wait_range(Mapping& space, u64 start_byte, u64 end_byte)
{
    if (end_byte < start_byte)
        return {};
    WritebackControl control;
    control.first_index = start_byte >> PAGE_SHIFT;
    control.last_index = end_byte >> PAGE_SHIFT;
    control.mode = SyncMode::Integrity;
    write_dirty_pages(space, control);
    wait_writeback_range(space, start_byte, end_byte);
    if (int error = space.check_error())
        return Error::from_errno(error);
    return {};
}

Result<void> flush_device(block::BlockDevice& device)
{
    block::Bio bio;
    block::bio_init(bio, block::BioOp::Flush, 0, nullptr, 0);
    bio.device = &device;
    bio.flags = block::BIO_SYNC;
    if (int error = block::submit_bio_wait(bio))
        return Error::from_errno(error);
    return {};
}

Result<void> fsync_range(Mapping& space, u64 start_byte, u64 end_byte)
{
    TRY(write_and_wait_range(space, start_byte, end_byte));
    if (space.device() && space.has_backing_store())
        TRY(flush_device(*space.device()));
    return {};
}

// --- throttling -----------------------------------------------------------------------

void writeback_completed()
{
    if (g_throttled_writers.load(MemoryOrder::Acquire) == 0)
        return;
    if (dirty_and_writeback() <= g_throttle_hard.load(MemoryOrder::Relaxed))
        g_throttle_wait.wake_all();
}

void balance_dirty_pages(Mapping& space)
{
    if (!space.has_backing_store())
        return;
    DirtyLimits limits = dirty_limits();
    const u64 now = dirty_and_writeback();
    record_max_dirty(now);
    Writeback* own = space.writeback();
    if (now > limits.background_pages) {
        if (own && own->dirty_pages() > 0) {
            own->kick();
        } else {
            for (usize i = 0; i < Writeback::count(); i++)
                Writeback::at(i)->kick();
        }
    }
    if (now <= limits.hard_pages)
        return;

    // Sleep until the count is halfway back to the background threshold:
    // the hysteresis lets a throttled writer dirty a batch of pages per
    // wake-up instead of one page per completion.
    counter::add(counter::THROTTLED, 1);
    g_throttled_writers.fetch_add(1, MemoryOrder::AcqRel);
    for (;;) {
        const u64 resume = (limits.background_pages + limits.hard_pages) / 2;
        if (dirty_and_writeback() <= resume)
            break;
        g_throttle_hard.store(resume, MemoryOrder::Relaxed);
        if (own)
            own->kick();
        wait_event_timeout(g_throttle_wait, [&] { return dirty_and_writeback() <= resume; }, THROTTLE_RECHECK_NS);
        limits = dirty_limits();
    }
    g_throttled_writers.fetch_sub(1, MemoryOrder::AcqRel);
}

// --- the per-device context -----------------------------------------------------------

Result<Writeback*> Writeback::for_device(block::BlockDevice& device)
{
    MutexGuard guard(g_registry_lock);
    for (usize i = 0; i < g_registry.count.load(MemoryOrder::Relaxed); i++) {
        if (g_registry.contexts[i]->device() == &device)
            return g_registry.contexts[i];
    }
    for (usize i = 0; i < g_registry.count.load(MemoryOrder::Relaxed); i++) {
        if (!g_registry.contexts[i]->device()) {
            g_registry.contexts[i]->m_device.store(&device, MemoryOrder::Release);
            return g_registry.contexts[i];
        }
    }
    if (g_registry.count.load(MemoryOrder::Relaxed) == block::MAX_BLOCK_DEVICES)
        return Error::from_errno(ENOSPC);
    auto* context = new Writeback(device);
    if (!context)
        return Error::from_errno(ENOMEM);
    char name[Thread::NAME_CAPACITY];
    format_string(name, sizeof(name), "wb-%s", device.name());
    auto thread = Thread::create(name, [context] { context->run(); }, {.detached = true});
    if (thread.is_error()) {
        delete context;
        return thread.error();
    }
    context->m_thread = thread.value();
    // Publish before the thread runs: count() readers see a complete entry.
    const usize slot = g_registry.count.load(MemoryOrder::Relaxed);
    g_registry.contexts[slot] = context;
    g_registry.count.store(slot + 1, MemoryOrder::Release);
    context->m_thread->start();
    return context;
}

void Writeback::forget_device(block::BlockDevice& device)
{
    MutexGuard guard(g_registry_lock);
    for (usize i = 0; i < g_registry.count.load(MemoryOrder::Relaxed); i++) {
        Writeback& context = *g_registry.contexts[i];
        if (context.device() != &device)
            continue;
        if (context.dirty_pages() || context.writeback_pages())
            log_warn("writeback", "%s: removed with %lu dirty / %lu writeback pages counted", device.name(),
                     context.dirty_pages(), context.writeback_pages());
        context.m_device.store(nullptr, MemoryOrder::Release);
    }
}

usize Writeback::count() { return g_registry.count.load(MemoryOrder::Acquire); }
Writeback* Writeback::at(usize index) { return g_registry.contexts[index]; }

void Writeback::note_dirty(Mapping& space)
{
    SpinLockGuard guard(m_lock);
    if (space.m_dirty_node.is_linked())
        return;
    space.m_dirtied_ns = clock_ns();
    m_spaces.push_back(space);
}

void Writeback::detach(Mapping& space)
{
    {
        SpinLockGuard guard(m_lock);
        if (space.m_dirty_node.is_linked())
            m_spaces.remove(space);
    }
    wait_event(m_idle, [&] { return !space.m_writeback_busy.load(MemoryOrder::Acquire); });
}

void Writeback::kick(bool all)
{
    if (all)
        m_write_all.store(true, MemoryOrder::Release);
    m_kicked.store(true, MemoryOrder::Release);
    m_wake.wake_all();
}

Mapping* Writeback::pick(bool expired_only, u64 now_ns)
{
    SpinLockGuard guard(m_lock);
    for (Mapping& space : m_spaces) {
        if (space.m_writeback_busy.load(MemoryOrder::Relaxed))
            continue;
        if (expired_only && now_ns - space.m_dirtied_ns < dirty_expire_ns())
            return nullptr; // oldest first: the rest are younger
        space.m_writeback_busy.store(true, MemoryOrder::Release);
        m_spaces.remove(space);
        m_spaces.push_back(space); // round robin between files
        return &space;
    }
    return nullptr;
}

void Writeback::put_back(Mapping& space)
{
    {
        SpinLockGuard guard(m_lock);
        if (space.m_dirty_node.is_linked() && !space.any_tagged(RadixTree::TAG_DIRTY))
            m_spaces.remove(space);
        space.m_writeback_busy.store(false, MemoryOrder::Release);
    }
    m_idle.wake_all();
}

void Writeback::pass(bool expired_only, u64 budget)
{
    const usize spaces = [&] {
        SpinLockGuard guard(m_lock);
        return m_spaces.size_slow();
    }();
    const u64 now = clock_ns();
    u64 started = 0;
    for (usize visited = 0; visited < spaces && started < budget; visited++) {
        Mapping* space = pick(expired_only, now);
        if (!space)
            return;
        WritebackControl control;
        control.nr_to_write = min(budget - started, BACKGROUND_CHUNK_PAGES);
        const u64 asked = control.nr_to_write;
        write_dirty_pages(*space, control);
        started += asked - control.nr_to_write;
        put_back(*space);
    }
}

void Writeback::write_all(SyncMode mode)
{
    const usize spaces = [&] {
        SpinLockGuard guard(m_lock);
        return m_spaces.size_slow();
    }();
    for (usize visited = 0; visited < spaces; visited++) {
        Mapping* space = pick(false, 0);
        if (!space)
            return;
        if (mode == SyncMode::Integrity) {
            (void)write_and_wait_range(*space, 0, ~0ul);
        } else {
            WritebackControl control;
            write_dirty_pages(*space, control);
        }
        put_back(*space);
    }
}

void Writeback::run()
{
    for (;;) {
        wait_event_timeout(m_wake, [&] {
            return m_kicked.load(MemoryOrder::Acquire)
                || (dirty_pages() > 0 && counter::get(counter::DIRTY) > dirty_limits().background_pages);
        }, WRITEBACK_PERIOD_NS);
        m_kicked.store(false, MemoryOrder::Release);
        if (m_write_all.exchange(false, MemoryOrder::AcqRel))
            write_all(SyncMode::Background);
        // Above the background threshold: keep writing while this device
        // has dirty pages and a pass makes progress.
        while (dirty_pages() > 0 && counter::get(counter::DIRTY) > dirty_limits().background_pages) {
            const u64 before = counter::get(counter::PAGES_WRITTEN);
            pass(false, BACKGROUND_CHUNK_PAGES * 4);
            if (counter::get(counter::PAGES_WRITTEN) == before) {
                // Everything left is busy (a sync works on it): do not spin.
                sched::sleep_for(NO_PROGRESS_SLEEP_NS);
                break;
            }
        }
        pass(true, ~0ul);
    }
}

void sync_all()
{
    for (usize i = 0; i < Writeback::count(); i++)
        Writeback::at(i)->write_all(SyncMode::Integrity);
}

} // namespace pagecache
