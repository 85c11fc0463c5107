// nvme::Controller: create (bring-up in order, owned from the first line),
// the destructor that undoes whatever was done, the controller registry, the
// block-driver entry points, and the PCI driver that binds it.
#include "drivers/nvme/Controller.h"

#include "drivers/nvme/InterruptQueue.h"
#include "drivers/nvme/PollQueue.h"
#include "kernel/block/BlkMq.h"
#include "kernel/block/DeviceRemoval.h"
#include "arch/x86_64/boot/BootInfo.h"
#include "kernel/lib/Format.h"
#include "kernel/log/Log.h"
#include "kernel/sync/Guarded.h"

namespace nvme {

namespace {

// Probe, removal and the ktests that walk the controllers may run on
// different CPUs at once.
Guarded<NumberedTable<Controller, MAX_CONTROLLERS>> g_controllers{LockRank::Registry, "nvme controllers"};

} // namespace

usize Controller::count() { return g_controllers.with([](auto& table) { return table.count(); }); }
Controller* Controller::at(usize index)
{
    return g_controllers.with([&](auto& table) { return table.at(static_cast<u32>(index)); });
}

bool Controller::drop_completion_for_test()
{
    if (m_cqes_reaped.add_fetch(1, MemoryOrder::Relaxed) != m_drop_cqe_at)
        return false;
    m_drop_cqe_armed.store(false, MemoryOrder::Relaxed);
    return true;
}

Result<volatile u32*> Controller::doorbell_register(u64 offset)
{
    if (!doorbell_in_bar(offset, m_regs_size)) {
        log_error("nvme", "%s: doorbell at 0x%lx is beyond BAR0 (%lu bytes; CAP.DSTRD %u)", m_name, offset,
                  m_regs_size, m_cap.doorbell_stride_shift());
        return Error::from_errno(ENODEV);
    }
    return reinterpret_cast<volatile u32*>(m_regs + offset);
}

Result<void> Controller::check_registers()
{
    // The controller's own values are checked before anything relies on
    // them: CAP.DSTRD decides where every doorbell is (1.4 §3.1.1, §3.1.24).
    if (!doorbell_in_bar(cq_head_doorbell_offset(ADMIN_QUEUE_ID, m_cap.doorbell_stride_shift()), m_regs_size)) {
        log_error("nvme", "%s: CAP.DSTRD %u puts the admin doorbells beyond BAR0 (%lu bytes)", m_name,
                  m_cap.doorbell_stride_shift(), m_regs_size);
        return Error::from_errno(ENODEV);
    }
    if (!m_cap.nvm_command_set() || m_cap.min_page_shift() > PAGE_SHIFT) {
        log_error("nvme", "%s: unsupported controller (CAP 0x%lx)", m_name, m_cap.raw());
        return Error::from_errno(ENODEV);
    }
    return {};
}

Result<Own<Controller>> Controller::create(pci::Device& pci_device)
{
    // Owned before the first TRY: a failure anywhere below runs ~Controller,
    // which gives back exactly what had been acquired (its number included).
    auto c = TRY(adopt_own_or_enomem(new (nothrow) Controller(pci_device)));
    // The lowest free number: a controller bound again keeps its name.
    c->m_index = TRY(g_controllers.with([](auto& table) { return table.reserve(); }));
    c->m_number_reserved = true;
    c->m_drop_cqe_at = boot_info().command_line.get_u64("nvme.drop_cqe", 0);
    c->m_drop_cqe_armed.store(c->m_drop_cqe_at != 0, MemoryOrder::Relaxed);
    c->m_fail_reset = boot_info().command_line.has("nvme.fail_reset");
    format_string(c->m_name, sizeof(c->m_name), "nvme%u", c->m_index);

    pci_device.enable_memory_and_bus_master();
    c->m_regs = TRY(pci_device.map_bar(0));
    c->m_regs_size = pci_device.bars[0].size;
    c->m_cap = CapabilityReg(c->read64(reg::CAP));
    c->m_version = c->read32(reg::VS);
    TRY(c->check_registers());
    TRY(c->disable());
    TRY(c->setup_admin_queue());
    TRY(c->enable());
    TRY(c->identify());
    TRY(c->create_io_queues());
    TRY(c->setup_shadow_doorbells());
    TRY(c->create_tag_set());
    TRY(c->scan_namespaces());
    g_controllers.with([&](auto& table) { table.publish(c->m_index, c.ptr()); });
    c->m_number_reserved = false;
    c->m_registered = true;
    c->print_summary();
    return c;
}

Controller::~Controller()
{
    // Namespaces first (their block devices use the tag set), then the tag
    // set; then the controller stops DMA (CC.EN = 0, §7.6.2 was already done
    // by remove()) before its rings are freed; vectors before the queues
    // their handlers point at. Members free the queues and DMA pages last.
    unregister_namespaces();
    m_tag_set = nullptr;
    if (m_enabled)
        (void)disable();
    // MSI-X: each entry masked and its CPU vector returned (free_vector waits
    // for a handler still running), then MSI-X off; no more DMA after that.
    for (u32 i = 0; i < MAX_IO_QUEUES; i++)
        if (m_io_queues[i] && !m_io_queues[i]->is_polled())
            m_pci.release_msix_vector(m_io_queues[i]->msix_entry);
    if (m_msix_enabled)
        m_pci.disable_msix();
    m_pci.disable_bus_master();
    unregister();
}

void Controller::unregister()
{
    g_controllers.with([&](auto& table) {
        if (m_registered)
            table.remove(this);
        else if (m_number_reserved)
            table.release(m_index);
    });
    m_registered = false;
    m_number_reserved = false;
}


void Controller::print_summary()
{
    log_info("nvme", "%s: %s (serial %s), NVMe %u.%u, %u namespace(s), max transfer %u KiB, %s write cache%s",
             m_name, m_model, m_serial, m_version >> 16, (m_version >> 8) & 0xff, m_namespace_count,
             m_max_transfer_bytes / 1024, m_volatile_write_cache ? "volatile" : "no",
             m_shadow_enabled ? ", shadow doorbells" : "");
    log_info("nvme", "%s: %u I/O queues + %u polled%s, depth %u, doorbell stride %u", m_name, m_io_queue_count,
             m_poll_queue_count, m_raw_queue ? " + 1 raw" : "", m_io_queue_depth, 4u << m_cap.doorbell_stride_shift());
    for (u32 i = 0; i < m_io_queue_count; i++) {
        IoQueue& q = *m_io_queues[i];
        log_info("nvme", "%s: queue %u -> MSI-X entry %u, cpu %u vector 0x%x", m_name, q.qid(), q.msix_entry, q.cpu,
                 q.vector);
    }
    if (m_tag_set)
        m_tag_set->print_queue_map();
}

// --- the block driver ----------------------------------------------------------------

block::QueueStatus Controller::queue_request(block::HwQueue& hw, block::Request& request, bool last)
{
    if (m_removing.load(MemoryOrder::Acquire) || m_dead.load(MemoryOrder::Acquire)) {
        block::complete_request(request, EIO); // the controller is disabled
        return block::QueueStatus::Ok;
    }
    if (m_resetting.load(MemoryOrder::Acquire))
        return block::QueueStatus::Busy;
    return static_cast<IoQueue*>(hw.driver_data)->issue(request, last);
}

void Controller::commit(block::HwQueue& hw) { static_cast<IoQueue*>(hw.driver_data)->commit(); }

u32 Controller::poll(block::HwQueue& hw) { return poll_queue(*static_cast<IoQueue*>(hw.driver_data)); }

// --- the PCI driver -------------------------------------------------------------------

namespace {

// Any NVM Express controller: class 01h (storage), subclass 08h, prog-if 02h.
const pci::DeviceId g_ids[] = {
    {pci::ANY_ID, pci::ANY_ID, 0x010802, 0xffffff},
};

class NvmePciDriver final : public pci::Driver {
public:
    NvmePciDriver() : pci::Driver("nvme", g_ids, ARRAY_SIZE(g_ids)) { }

    Result<void> probe(pci::Device& device) override
    {
        device.driver_data = TRY(Controller::create(device)).leak(); // freed by remove()
        return {};
    }

    void shutdown(pci::Device& device) override
    {
        if (device.driver_data)
            static_cast<Controller*>(device.driver_data)->shutdown();
    }

    Result<void> remove(pci::Device& device) override
    {
        if (!device.driver_data)
            return {};
        TRY(static_cast<Controller*>(device.driver_data)->remove());
        device.driver_data = nullptr;
        return {};
    }
};

NvmePciDriver g_nvme_driver;
PCI_DRIVER(g_nvme_driver);

} // namespace

} // namespace nvme
