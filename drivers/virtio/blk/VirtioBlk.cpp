// virtio-blk driver. See VirtioBlk.h.
#include "drivers/virtio/blk/VirtioBlk.h"

#include "arch/x86_64/PerCpu.h"
#include "drivers/pci/DmaPages.h"
#include "drivers/virtio/DeviceStatus.h"
#include "drivers/virtio/Features.h"
#include "drivers/virtio/blk/DeviceConfig.h"
#include "kernel/block/BlkMq.h"
#include "kernel/block/DeviceRemoval.h"
#include "arch/x86_64/boot/BootInfo.h"
#include "kernel/lib/Format.h"
#include "kernel/lib/NumberedTable.h"
#include "kernel/lib/String.h"
#include "kernel/log/Log.h"
#include "kernel/mm/DirectMap.h"
#include "kernel/mm/Heap.h"
#include "kernel/mm/PageAllocator.h"
#include "kernel/sync/Guarded.h"
#include "kernel/time/Clock.h"

namespace virtio::blk {

namespace {

constexpr const char* TAG = "virtio-blk";

// Ring size: the device's maximum, capped. Each request takes one ring
// descriptor (indirect), so this is also the queue depth.
constexpr u16 MAX_QUEUE_SIZE = 256;
// Indirect table length: 128 descriptors = 126 data segments + header and
// status; 256 tables of 2 KiB = 512 KiB per queue.
constexpr u16 INDIRECT_ENTRIES = 128;
// Requests are capped at 2 MiB; the block layer splits larger bios.
constexpr u32 MAX_REQUEST_BYTES = 2 * MiB;

constexpr u32 MAX_DISKS = 8;
// Probe, removal and the ktests that walk the disks may run on different
// CPUs at once.
Guarded<NumberedTable<Disk, MAX_DISKS>> g_disks{LockRank::Registry, "virtio-blk disks"};

PhysAddr page_phys(const Page* page) { return mm::page_to_phys(page); }
PhysAddr kernel_virt_phys(const void* virt) { return virt_to_phys(virt); }

using mm::order_for_bytes;

// "VERSION_1 INDIRECT_DESC ..." for the boot log.
void format_features(char* out, usize size, u64 features)
{
    static constexpr struct {
        unsigned bit;
        const char* name;
    } NAMES[] = {
        { FEATURE_SIZE_MAX, "SIZE_MAX" },
        { FEATURE_SEG_MAX, "SEG_MAX" },
        { FEATURE_GEOMETRY, "GEOMETRY" },
        { FEATURE_RO, "RO" },
        { FEATURE_BLK_SIZE, "BLK_SIZE" },
        { FEATURE_FLUSH, "FLUSH" },
        { FEATURE_TOPOLOGY, "TOPOLOGY" },
        { FEATURE_CONFIG_WCE, "CONFIG_WCE" },
        { FEATURE_MQ, "MQ" },
        { FEATURE_DISCARD, "DISCARD" },
        { FEATURE_WRITE_ZEROES, "WRITE_ZEROES" },
        { FEATURE_SECURE_ERASE, "SECURE_ERASE" },
        { FEATURE_INDIRECT_DESC, "INDIRECT_DESC" },
        { FEATURE_EVENT_IDX, "EVENT_IDX" },
        { FEATURE_VERSION_1, "VERSION_1" },
        { FEATURE_ACCESS_PLATFORM, "ACCESS_PLATFORM" },
        { FEATURE_RING_PACKED, "RING_PACKED" },
        { FEATURE_IN_ORDER, "IN_ORDER" },
        { FEATURE_NOTIFICATION_DATA, "NOTIFICATION_DATA" },
        { FEATURE_RING_RESET, "RING_RESET" },
    };
    usize used = 0;
    out[0] = 0;
    u64 rest = features;
    for (const auto& n : NAMES) {
        if (!has_feature(features, n.bit))
            continue;
        rest &= ~feature_bit(n.bit);
        if (used < size)
            used += format_string(out + used, size - used, "%s%s", used ? " " : "", n.name);
    }
    if (rest && used < size)
        format_string(out + used, size - used, "%sother 0x%lx", used ? " " : "", rest);
}

} // namespace

u32 disk_count() { return g_disks.with([](auto& table) { return table.count(); }); }
Disk* disk_at(u32 index) { return g_disks.with([&](auto& table) { return table.at(index); }); }

Disk::Disk(::pci::Device& device)
    : m_pci(device)
    , m_adapter(device)
{
}

Result<Own<Disk>> Disk::create(::pci::Device& device)
{
    auto disk = TRY(adopt_own_or_enomem(new (nothrow) Disk(device)));
    // The lowest free number: a disk bound again keeps its name (vda).
    // ~Disk gives it back if bring-up fails.
    disk->m_index = TRY(g_disks.with([](auto& table) { return table.reserve(); }));
    disk->m_number_reserved = true;
    format_string(disk->m_name, sizeof(disk->m_name), "vd%c", 'a' + disk->m_index);
    format_string(disk->m_set_name, sizeof(disk->m_set_name), "virtio%u", disk->m_index);
    disk->m_stall_after = boot_info().command_line.get_u64("virtio_blk.stall_after", 0);
    auto up = disk->bring_up();
    if (up.is_error()) {
        log_error(TAG, "%s (%s): initialization failed: errno %d", disk->m_name, disk->m_adapter.name(),
            up.error().code());
        if (disk->m_transport)
            disk->m_transport->fail(); // §3.1.1 step 8
        return up.error(); // ~Disk gives back what bring_up() acquired
    }
    g_disks.with([&](auto& table) { table.publish(disk->m_index, disk.ptr()); });
    disk->m_number_reserved = false;
    disk->m_registered = true;
    disk->print_summary();
    return disk;
}

Disk::~Disk()
{
    if (m_block_device) {
        // Registered, then bring-up failed (remove() clears it): take it away.
        if (block::begin_removal(*m_block_device).is_error()) {
            log_error(TAG, "%s: busy while bring-up failed; left registered", m_name);
            (void)m_tag_set.leak();
        } else {
            (void)block::wait_idle(*m_block_device, m_tag_set->config().timeout_ns);
            block::finish_removal(*m_block_device);
        }
        m_block_device = nullptr;
    }
    m_new_device = nullptr;
    m_tag_set = nullptr;
    // §2.4: a reset device uses no buffer and sends no notification: then
    // the rings can go. Vectors first (each waits for a running handler).
    if (m_transport)
        (void)m_transport->reset();
    m_adapter.disable_msix();
    m_pci.disable_bus_master();
    for (Queue& q : m_queues)
        free_queue(q);
    g_disks.with([&](auto& table) {
        if (m_registered)
            table.remove(this);
        else if (m_number_reserved)
            table.release(m_index);
    });
}

Result<void> Disk::bring_up()
{
    m_adapter.enable_bus_master();
    auto probed = TRY(PciTransport::probe(m_adapter));
    m_transport = TRY(adopt_own_or_enomem(new (nothrow) PciTransport(kstd::move(probed))));
    PciTransport& t = *m_transport;

    // §3.1.1: reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK.
    TRY(t.reset());
    t.add_status(STATUS_ACKNOWLEDGE);
    t.add_status(STATUS_DRIVER);
    m_device_features = t.device_features();
    m_features = TRY(t.negotiate(driver_features()));

    Config config;
    if (!read_config(t, m_features, config))
        return Error::from_errno(EIO);

    // Queue geometry: one per CPU, no more than the device offers (MQ), the
    // transport exposes, or MSI-X entries allow (entry 0 is for config).
    const u16 offered = has_feature(m_features, FEATURE_MQ) && config.num_queues ? config.num_queues : 1;
    m_device_queues = min(offered, t.num_queues());
    const u16 msix = m_adapter.msix_table_size();
    if (msix < 2)
        return Error::from_errno(ENODEV); // MSI-X with a vector per queue is required
    const u32 cpus = max<u32>(1, percpu::possible_count());
    const u16 wanted = u16(min<u32>(min<u32>(m_device_queues, cpus), min<u32>(msix - 1, MAX_QUEUES)));
    const u16 max_size = t.queue_max_size(0);
    if (!max_size)
        return Error::from_errno(ENODEV);
    // A power of two no larger than the device's maximum (§2.7).
    u16 size = MAX_QUEUE_SIZE;
    while (size > max_size)
        size = u16(size >> 1);
    m_queue_size = size;
    m_indirect_entries = has_feature(m_features, FEATURE_INDIRECT_DESC) ? min(INDIRECT_ENTRIES, size) : 0;
    const u32 chain = m_indirect_entries ? m_indirect_entries : size;
    m_info = describe_device(m_features, config, chain - 2);
    if (m_info.capacity_sectors == 0)
        log_warn(TAG, "%s: capacity 0", m_name);

    // A queue beyond one per CPU goes to the benchmark's raw loop, so that
    // loop never has to take a queue away from blk-mq.
    const bool reserve_raw = m_device_queues > wanted && wanted < MAX_QUEUES;
    TRY(create_queues(wanted, size, reserve_raw));
    TRY(create_block_device());
    // §3.1.1 step 8: the device may be used from here on.
    t.driver_ok();
    if (t.status() & STATUS_DEVICE_NEEDS_RESET)
        return Error::from_errno(EIO);
    TRY(block::register_device(*m_new_device));
    m_block_device = m_new_device.leak(); // the registry's now (finish_removal frees it)
    return {};
}

Result<SplitVirtqueue*> Disk::create_ring(Queue& q, const SplitVirtqueue::Options& options)
{
    const usize ring_bytes = SplitVirtqueue::ring_bytes(options.size);
    const usize pool_bytes = SplitVirtqueue::indirect_pool_bytes(options);
    DmaBuffer ring = alloc_dma_pages(order_for_bytes(ring_bytes));
    DmaBuffer pool = pool_bytes ? alloc_dma_pages(order_for_bytes(pool_bytes)) : DmaBuffer{};
    auto* state = static_cast<SplitVirtqueue::DescriptorState*>(
        kzalloc(sizeof(SplitVirtqueue::DescriptorState) * options.size));
    q.ring_memory = ring;
    q.ring_order = order_for_bytes(ring_bytes);
    q.pool_memory = pool;
    q.pool_order = order_for_bytes(pool_bytes);
    q.descriptor_state = state;
    if (!ring || (pool_bytes && !pool) || !state)
        return Error::from_errno(ENOMEM);
    const DmaRegion ring_region{ ring.virt, ring.phys, PAGE_SIZE << order_for_bytes(ring_bytes) };
    const DmaRegion pool_region{ pool.virt, pool.phys, pool_bytes ? PAGE_SIZE << order_for_bytes(pool_bytes) : 0 };
    TRY(SplitVirtqueue::validate(options, ring_region, pool_region));
    auto* queue = new (nothrow) SplitVirtqueue(options, ring_region, pool_region, state);
    if (!queue)
        return Error::from_errno(ENOMEM);
    return queue; // q.ring: free_queue() deletes it
}

Result<void> Disk::create_queues(u16 wanted, u16 size, bool reserve_raw)
{
    PciTransport& t = *m_transport;
    const u32 cpus = max<u32>(1, percpu::possible_count());
    SplitVirtqueue::Options options;
    options.size = size;
    options.event_idx = has_feature(m_features, FEATURE_EVENT_IDX);
    options.max_indirect_entries = m_indirect_entries;

    // MSI-X entry 0: configuration changes on CPU 0; entry i + 1: queue i on CPU i.
    MsixBinding bindings[MAX_QUEUES + 1];
    format_string(m_config_irq_name, sizeof(m_config_irq_name), "%s-config", m_set_name);
    bindings[0] = { 0, config_interrupt, this, m_config_irq_name };
    for (u16 i = 0; i < wanted; i++) {
        Queue& q = m_queues[i];
        q.disk = this;
        q.index = i;
        q.msix_entry = u16(i + 1);
        q.cpu = i % cpus;
        format_string(q.irq_name, sizeof(q.irq_name), "%s-req.%u", m_set_name, i);
        bindings[i + 1] = { q.cpu, queue_interrupt, &q, q.irq_name };
        q.ring = TRY(create_ring(q, options));
    }
    TRY(m_adapter.enable_msix(bindings, u16(wanted + 1)));
    TRY(t.set_config_vector(0));
    for (u16 i = 0; i < wanted; i++) {
        Queue& q = m_queues[i];
        q.notifier = TRY(t.enable_queue(q.index, *q.ring, q.msix_entry));
        q.requests = new (nothrow) RequestQueue(*q.ring, q.notifier, m_info, { page_phys, kernel_virt_phys });
        if (!q.requests)
            return Error::from_errno(ENOMEM);
        m_queue_count = i + 1u;
    }
    if (reserve_raw) {
        // The raw loop polls: no MSI-X vector (§4.1.5.1.2: NO_VECTOR), and
        // blk-mq never sees the queue.
        Queue& q = m_queues[wanted];
        q.disk = this;
        q.index = wanted;
        q.msix_entry = pci::NO_VECTOR;
        q.owner = QueueOwner::RawLoop;
        q.ring = TRY(create_ring(q, options));
        q.notifier = TRY(t.enable_queue(q.index, *q.ring, pci::NO_VECTOR));
        m_raw_queue = &q;
    }
    return {};
}

Result<void> Disk::create_block_device()
{
    block::TagSetConfig config;
    config.name = m_set_name;
    config.driver = this;
    config.bench = this;
    config.driver_data = this;
    config.interrupt_queues = m_queue_count;
    config.poll_queues = 0;
    config.queue_depth = min<u32>(block::MAX_TAGS, m_queue_size);
    config.driver_data_size = sizeof(RequestData);
    config.timeout_ns = boot_info().command_line.get_u64("virtio_blk.timeout_ms", 30'000) * 1'000'000ul;
    m_tag_set = TRY(block::TagSet::create(config));
    for (u32 i = 0; i < m_queue_count; i++)
        m_tag_set->hw_queue(i).driver_data = &m_queues[i];

    block::DeviceInfo info;
    format_string(info.name, sizeof(info.name), "%s", m_name);
    info.major = block::MAJOR_VIRTBLK;
    info.minor = m_index * 16; // 16 minors per disk, as Linux
    info.capacity_sectors = m_info.capacity_sectors;
    info.read_only = m_info.read_only;
    block::QueueLimits& limits = info.limits;
    limits.logical_block_size = m_info.logical_block_bytes;
    limits.physical_block_size = m_info.physical_block_bytes;
    limits.max_hw_sectors
        = u32(min<u64>(m_info.max_transfer_bytes, MAX_REQUEST_BYTES) >> block::SECTOR_SHIFT);
    limits.max_segments = u16(min<u32>(m_info.max_segments, 0xffff));
    limits.max_segment_size = m_info.max_segment_bytes;
    limits.virt_boundary_mask = 0; // descriptors take any address and length
    limits.write_cache = m_info.volatile_write_cache;
    limits.fua = false; // virtio-blk has no FUA: the block layer uses flushes
    m_new_device = TRY(block::BlockDevice::create(info, *m_tag_set, this));
    return {};
}

void Disk::print_summary()
{
    char features[256];
    format_features(features, sizeof(features), m_features);
    log_info(TAG, "%s: %s, %lu sectors (%lu MiB), logical %u / physical %u bytes, %s, %s", m_name,
        m_adapter.name(), m_info.capacity_sectors, (m_info.capacity_sectors << 9) / MiB,
        m_info.logical_block_bytes, m_info.physical_block_bytes,
        m_info.read_only ? "read-only" : "read-write",
        m_info.volatile_write_cache ? "volatile write cache (flush)" : "write-through");
    log_info(TAG, "%s: features offered 0x%lx, negotiated 0x%lx: %s", m_name, m_device_features, m_features,
        features);
    // Without SIZE_MAX a segment is as long as a descriptor allows; what
    // bounds a request then is the block layer's max_hw_sectors.
    char segment[32];
    if (has_feature(m_features, FEATURE_SIZE_MAX))
        format_string(segment, sizeof(segment), "x %u bytes max", m_info.max_segment_bytes);
    else
        format_string(segment, sizeof(segment), "of unlimited size");
    log_info(TAG,
        "%s: %u request queues (device offers %u), %u entries each, %s, %u segments %s, %u KiB per request",
        m_name, m_queue_count, m_device_queues, m_queue_size,
        m_indirect_entries ? "indirect tables" : "direct descriptors", m_block_device->limits().max_segments,
        segment, (m_block_device->limits().max_hw_sectors << block::SECTOR_SHIFT) / 1024);
    if (m_raw_queue)
        log_info(TAG, "%s: queue %u reserved for the raw benchmark loop (polled, no vector)", m_name,
            m_raw_queue->index);
    log_info(TAG, "%s: config changes -> MSI-X entry 0, cpu 0 vector 0x%x", m_name, m_adapter.cpu_vector(0));
    for (u32 i = 0; i < m_queue_count; i++) {
        const Queue& q = m_queues[i];
        log_info(TAG, "%s: queue %u -> MSI-X entry %u, cpu %u vector 0x%x", m_name, q.index, q.msix_entry,
            q.cpu, m_adapter.cpu_vector(q.msix_entry));
    }
    if (m_tag_set)
        m_tag_set->print_queue_map();
}

// --- the I/O path ---------------------------------------------------------------------

block::QueueStatus Disk::queue_request(block::HwQueue& hw, block::Request& request, bool last)
{
    Queue& q = *static_cast<Queue*>(hw.driver_data);
    RequestQueue::SubmitResult result;
    {
        SpinLockGuard guard(q.lock);
        if (q.owner == QueueOwner::Shutdown || m_dead.load(MemoryOrder::Acquire)) {
            result = { RequestQueue::Outcome::Completed, EIO };
        } else if (m_resetting.load(MemoryOrder::Acquire)) {
            // The reset collects what is in the ring; blk-mq keeps this one
            // and issues it after the reset (kick_all).
            return block::QueueStatus::Busy;
        } else if (q.owner != QueueOwner::BlkMq) {
            // Lent to the raw benchmark: return_queue() kicks blk-mq again.
            return block::QueueStatus::Busy;
        } else {
            result = q.requests->submit(request);
        }
        // The last of a batch publishes the batch, even when it failed
        // itself: the chains queued before it are waiting on this.
        if (last && q.owner == QueueOwner::BlkMq)
            q.requests->commit();
    }
    switch (result.outcome) {
    case RequestQueue::Outcome::Issued:
        return block::QueueStatus::Ok;
    case RequestQueue::Outcome::Busy:
        return block::QueueStatus::Busy; // blk-mq calls commit() for what was queued before
    case RequestQueue::Outcome::Completed:
        block::complete_request(request, result.error);
        return block::QueueStatus::Ok;
    }
    return block::QueueStatus::Ok;
}

void Disk::commit(block::HwQueue& hw)
{
    Queue& q = *static_cast<Queue*>(hw.driver_data);
    SpinLockGuard guard(q.lock);
    // While Draining, chains blk-mq added before it was told Busy are still
    // its own: publish them, or the queue never drains.
    if (q.owner == QueueOwner::BlkMq || q.owner == QueueOwner::Draining)
        q.requests->commit();
}

block::TimeoutAction Disk::timeout(block::Request& request, u32 generation)
{
    // Virtio has no per-request abort (§5.2): the device owns the buffers
    // until it returns them or is reset. A lost interrupt first: reap.
    Queue& q = *static_cast<Queue*>(request.hw_queue->driver_data);
    if (!m_stalled.load(MemoryOrder::Acquire))
        reap_queue(q);
    if (request.state.load(MemoryOrder::Acquire) != block::RequestState::Issued ||
        request.generation.load(MemoryOrder::Acquire) != generation)
        return block::TimeoutAction::Handled;
    if (m_raw_running.load(MemoryOrder::Acquire) || m_dead.load(MemoryOrder::Acquire))
        return block::TimeoutAction::ResetTimer; // the raw loop owns a queue; or already failing everything
    log_warn(TAG, "%s: request tag %u (sector %lu, %u bytes) timed out", m_name, request.tag, request.sector,
        request.size_bytes);
    {
        // The ring's indices tell a device that never fetched the requests
        // (avail_event behind published) from one that used them without an
        // interrupt (used ahead of harvested).
        SpinLockGuard guard(q.lock);
        const SplitVirtqueue& ring = *q.ring;
        const SplitVirtqueue::Snapshot s = ring.snapshot();
        log_warn(TAG,
            "%s: queue %u: avail %u published %u used %u harvested %u avail_event %u used_event %u "
            "avail_flags %x used_flags %x in_flight %u free %u; device status %x",
            m_name, q.index, s.avail_idx, s.published_idx, s.used_idx, s.last_used_idx, s.avail_event,
            s.used_event, s.avail_flags, s.used_flags, ring.in_flight(), ring.free_descriptors(),
            m_transport->status());
    }
    reset_device();
    return block::TimeoutAction::Handled;
}

void Disk::queue_interrupt(void* context)
{
    Queue& q = *static_cast<Queue*>(context);
    q.interrupts.fetch_add(1, MemoryOrder::Relaxed);
    reap_queue(q);
}

void Disk::reap_queue(Queue& q)
{
    // Reap a bounded batch under the lock, complete it without the lock
    // (completing may dispatch new requests onto this very queue).
    constexpr usize BATCH = 32;
    RequestQueue::Done done[BATCH];
    usize n;
    do {
        {
            SpinLockGuard guard(q.lock);
            // The raw loop's chains are not requests, and at power-off the
            // flush is being polled: leave those rings alone.
            if (q.owner == QueueOwner::RawLoop || q.owner == QueueOwner::Shutdown ||
                q.disk->m_resetting.load(MemoryOrder::Acquire))
                return;
            if (q.disk->m_stall_after && q.disk->stalled_for_test(0)) [[unlikely]]
                return;
            n = q.requests->reap_batch(done, BATCH);
            if (q.disk->m_stall_after && n) [[unlikely]]
                (void)q.disk->stalled_for_test(n);
        }
        for (usize i = 0; i < n; i++)
            block::complete_request(*done[i].request, done[i].error);
    } while (n == BATCH);
}

block::DriverQueueCounters Disk::queue_counters(block::HwQueue* hw)
{
    if (!hw)
        return { true, 0, m_raw_notifications.load(MemoryOrder::Relaxed), 0 };
    Queue& q = *static_cast<Queue*>(hw->driver_data);
    SpinLockGuard guard(q.lock);
    return { true, q.interrupts.load(MemoryOrder::Relaxed), q.requests->counters().notifications,
        0 };
}

void Disk::config_interrupt(void* context)
{
    auto* disk = static_cast<Disk*>(context);
    disk->m_config_interrupts.fetch_add(1, MemoryOrder::Relaxed);
    // §4.1.4.3 / §5.2.4: e.g. a capacity change. Resizing a live disk is not
    // supported; say so.
    log_warn(TAG, "%s: device configuration changed (generation %u)", disk->m_name,
        disk->m_transport->config_generation());
}

// --- power-off ------------------------------------------------------------------------

namespace {

// How long the power-off flush may take before the device is reset anyway.
constexpr u64 SHUTDOWN_FLUSH_TIMEOUT_NS = 5'000'000'000ul;

} // namespace

void Disk::shutdown()
{
    if (m_shut_down)
        return;
    m_shut_down = true;
    // §5.2.6.4: with FLUSH negotiated, completed writes may sit in a volatile
    // cache until a flush; one flush covers every write completed before it,
    // whatever queue it went through.
    int error = 0;
    if (m_info.volatile_write_cache && !m_info.read_only) {
        // This CPU's queue, or the next one not lent to the raw benchmark.
        error = ENODEV;
        for (u32 i = 0; i < m_queue_count; i++) {
            auto flushed = flush_polled(m_queues[(current_cpu_index() + i) % m_queue_count]);
            error = flushed.is_error() ? flushed.error().code() : 0;
            if (error != EBUSY)
                break;
        }
    }
    // §2.4 / §4.1.4.3.2: a reset stops the device: it uses no buffer and
    // sends no interrupt after it reads back 0.
    for (u32 i = 0; i < m_queue_count; i++) {
        SpinLockGuard guard(m_queues[i].lock);
        m_queues[i].owner = QueueOwner::Shutdown;
    }
    auto reset = m_transport->reset();
    const char* cache = !m_info.volatile_write_cache ? "no write cache"
        : m_info.read_only                           ? "read-only, no flush"
        : error                                      ? "write cache flush FAILED"
                                                     : "write cache flushed";
    if (error || reset.is_error())
        log_warn(TAG, "%s: shutdown: %s (errno %d), device reset %s", m_name, cache, error,
            reset.is_error() ? "timed out" : "done");
    else
        log_info(TAG, "%s: shutdown: %s, device reset", m_name, cache);
}

// The power-off flush, polled on `q` (interrupts may be off on this CPU, and
// the queue's vector may point at it). New requests fail from here on; the
// ones the device completes meanwhile are completed once the lock is dropped.
Result<void> Disk::flush_polled(Queue& q)
{
    constexpr usize MAX_OTHERS = MAX_QUEUE_SIZE;
    static block::Request* others[MAX_OTHERS];
    usize other_count = 0;
    int error = 0;
    {
        SpinLockGuard guard(q.lock);
        if (q.owner != QueueOwner::BlkMq)
            return Error::from_errno(EBUSY); // the raw benchmark is using it
        q.owner = QueueOwner::Shutdown;
        SplitVirtqueue& ring = *q.ring;
        ring.disable_interrupts();
        prepare_command(m_shutdown_command, Operation::Flush, 0);
        const Segment chain[] = {
            { kernel_virt_phys(&m_shutdown_command.header), sizeof(RequestHeader), false },
            { kernel_virt_phys(&m_shutdown_command.status), 1, true },
        };
        const u64 deadline = clock_ns() + SHUTDOWN_FLUSH_TIMEOUT_NS;
        bool added = false, done = false;
        while (!done) {
            if (!added) {
                auto head = ring.add_chain(chain, ARRAY_SIZE(chain), &m_shutdown_command);
                if (head.is_error() && head.error().code() != ENOSPC) {
                    error = head.error().code();
                    break;
                }
                added = !head.is_error();
                if (added && ring.publish())
                    q.notifier.notify();
            }
            UsedBuffer used;
            while (!done && ring.pop_used(used)) {
                if (used.token == &m_shutdown_command) {
                    done = true;
                } else if (other_count < MAX_OTHERS) {
                    auto* request = static_cast<block::Request*>(used.token);
                    others[other_count++] = request;
                }
            }
            if (ring.is_broken()) {
                error = EIO;
                break;
            }
            if (!done && clock_ns() > deadline) {
                error = ETIMEDOUT;
                break;
            }
            x86::pause();
        }
        if (done)
            error = completion_errno(m_shutdown_command);
    }
    for (usize i = 0; i < other_count; i++)
        block::complete_request(
            *others[i], completion_errno(others[i]->driver_data_as<RequestData>().command));
    if (error)
        return Error::from_errno(error);
    return {};
}

// --- removal ------------------------------------------------------------------------

Result<void> Disk::remove()
{
    if (!m_block_device)
        return Error::from_errno(ENODEV);
    if (m_raw_running.load(MemoryOrder::Acquire))
        return Error::from_errno(EBUSY); // the raw benchmark owns a queue
    TRY(block::begin_removal(*m_block_device));
    const bool idle = block::wait_idle(*m_block_device, m_tag_set->config().timeout_ns);
    // §2.4 / §4.1.4.3.2: writing 0 to device_status resets the device; once
    // it reads back 0 the device uses no buffer and sends no notification.
    // The queues are marked first so the interrupt handler leaves them be.
    for (u32 i = 0; i < m_queue_count; i++) {
        SpinLockGuard guard(m_queues[i].lock);
        m_queues[i].owner = QueueOwner::Shutdown;
    }
    if (m_raw_queue) {
        SpinLockGuard guard(m_raw_queue->lock);
        m_raw_queue->owner = QueueOwner::Shutdown;
    }
    if (m_transport->reset().is_error())
        log_warn(TAG, "%s: remove: device reset did not complete", m_name);
    if (!idle) {
        // The device kept requests it never returned: after the reset it
        // will not touch their buffers, so they can end with EIO (queued
        // ones too: queue_request fails requests on a Shutdown queue).
        block::fail_requests(*m_tag_set, EIO);
        (void)block::wait_idle(*m_block_device, m_tag_set->config().timeout_ns);
    }
    block::finish_removal(*m_block_device);
    m_block_device = nullptr;
    log_info(TAG, "%s: removed", m_name);
    // The tag set, vectors (masked and returned to the per-CPU allocator,
    // each waiting for a handler still running), MSI-X and bus mastering
    // off, rings, pools, the transport, the registry entry: ~Disk.
    delete this;
    return {};
}

void Disk::free_queue(Queue& q)
{
    delete q.requests;
    q.requests = nullptr;
    delete q.ring;
    q.ring = nullptr;
    free_dma_pages(q.ring_memory, q.ring_order);
    if (q.pool_memory)
        free_dma_pages(q.pool_memory, q.pool_order);
    kfree(q.descriptor_state);
    q.ring_memory = q.pool_memory = DmaBuffer {};
    q.descriptor_state = nullptr;
}

// --- the PCI driver -------------------------------------------------------------------

namespace {

// §4.1.2: modern (0x1040 + 2) and transitional (0x1001) block devices; the
// transitional ones are driven through their modern interface.
const ::pci::DeviceId g_ids[] = {
    { pci::VENDOR_ID, u16(pci::MODERN_DEVICE_ID_BASE + pci::DEVICE_TYPE_BLOCK), 0, 0 },
    { pci::VENDOR_ID, pci::TRANSITIONAL_DEVICE_ID_BLOCK, 0, 0 },
};

class VirtioBlkPciDriver final : public ::pci::Driver {
public:
    VirtioBlkPciDriver()
        : ::pci::Driver("virtio-blk", g_ids, ARRAY_SIZE(g_ids))
    {
    }

    Result<void> probe(::pci::Device& device) override
    {
        Disk* disk = TRY(Disk::create(device)).leak(); // freed by remove()
        device.driver_data = disk;
        return {};
    }

    void shutdown(::pci::Device& device) override
    {
        if (device.driver_data)
            static_cast<Disk*>(device.driver_data)->shutdown();
    }

    Result<void> remove(::pci::Device& device) override
    {
        if (!device.driver_data)
            return {};
        TRY(static_cast<Disk*>(device.driver_data)->remove());
        device.driver_data = nullptr;
        return {};
    }
};

VirtioBlkPciDriver g_virtio_blk_driver;
PCI_DRIVER(g_virtio_blk_driver);

} // namespace

} // namespace virtio::blk
