// NVMe namespaces (1.4 §5.15.2): the active namespace list, Identify
// Namespace for each, and one block device per usable namespace.
#include "drivers/nvme/Controller.h"

#include "kernel/block/DeviceRemoval.h"
#include "kernel/lib/Format.h"
#include "kernel/log/Log.h"

namespace nvme {

Result<void> Controller::scan_namespaces()
{
    DmaPages list_buffer = DmaPages::allocate(0);
    DmaPages ns_buffer = DmaPages::allocate(0);
    if (!list_buffer || !ns_buffer)
        return Error::from_errno(ENOMEM);
    SubmissionEntry cmd {};
    cmd.opcode = admin::IDENTIFY;
    cmd.prp1 = list_buffer.phys();
    cmd.cdw10 = cns::ACTIVE_NAMESPACE_LIST;
    cmd.nsid = 0; // NSIDs greater than 0
    TRY(admin(cmd));
    const auto& list = *static_cast<const ActiveNamespaceList*>(list_buffer.virt());
    for (u32 i = 0; i < 1024 && list.nsid[i] && m_namespace_count < MAX_NAMESPACES; i++) {
        const u32 nsid = list.nsid[i];
        SubmissionEntry id_cmd {};
        id_cmd.opcode = admin::IDENTIFY;
        id_cmd.nsid = nsid;
        id_cmd.prp1 = ns_buffer.phys();
        id_cmd.cdw10 = cns::NAMESPACE;
        if (admin(id_cmd).is_error())
            continue;
        const auto& id = *static_cast<const IdentifyNamespace*>(ns_buffer.virt());
        const LbaFormat& format = id.lbaf[id.flbas & 0xf];
        if (id.nsze == 0 || format.lbads < 9 || format.lbads > 16 || format.ms != 0) {
            log_warn("nvme", "%s: namespace %u unusable (size %lu, lbads %u, metadata %u)", m_name, nsid, id.nsze,
                     format.lbads, format.ms);
            continue;
        }
        Namespace& ns = m_namespaces[m_namespace_count];
        ns.nsid = nsid;
        ns.lba_shift = format.lbads;
        ns.lba_count = id.nsze;

        block::DeviceInfo info;
        format_string(info.name, sizeof(info.name), "%sn%u", m_name, nsid);
        info.major = block::MAJOR_BLKEXT;
        info.minor = m_index * MAX_NAMESPACES + m_namespace_count;
        info.capacity_sectors = ns.lba_count << (ns.lba_shift - block::SECTOR_SHIFT);
        block::QueueLimits& limits = info.limits;
        limits.logical_block_size = 1u << ns.lba_shift;
        // NPWG (§5.15.2.2) is the preferred write granularity when reported.
        limits.physical_block_size = (id.nsfeat & (1u << 4)) ? (u32(id.npwg) + 1) << ns.lba_shift
                                                             : limits.logical_block_size;
        limits.max_hw_sectors = m_max_transfer_bytes >> block::SECTOR_SHIFT;
        limits.max_segments = static_cast<u16>(m_max_transfer_bytes / PAGE_SIZE + 1);
        limits.max_segment_size = m_max_transfer_bytes;
        limits.virt_boundary_mask = PAGE_SIZE - 1; // PRPs (§4.3)
        limits.dma_alignment_mask = 3;             // PRP1 dword alignment
        limits.write_cache = m_volatile_write_cache;
        limits.fua = true;
        auto device = TRY(block::BlockDevice::create(info, *m_tag_set, &ns));
        TRY(block::register_device(*device));
        ns.device = device.leak(); // the registry's now (finish_removal frees it)
        m_namespace_count++;
    }
    return {};
}

void Controller::unregister_namespaces()
{
    // Bring-up failed after registering some namespaces: take them away as
    // remove() does. Nothing was issued on them by this driver; what devfs or
    // the page cache started ends first (wait_idle).
    for (u32 i = 0; i < m_namespace_count; i++) {
        block::BlockDevice& device = *m_namespaces[i].device;
        if (auto begun = block::begin_removal(device); begun.is_error()) {
            // Opened in the moment since it appeared: it keeps its tag set.
            log_error("nvme", "%s: %s busy while bring-up failed (errno %d); left registered", m_name,
                      device.name(), begun.error().code());
            (void)m_tag_set.leak();
            continue;
        }
        (void)block::wait_idle(device, m_tag_set ? m_tag_set->config().timeout_ns : 0);
        block::finish_removal(device);
        m_namespaces[i].device = nullptr;
    }
    m_namespace_count = 0;
}

} // namespace nvme
