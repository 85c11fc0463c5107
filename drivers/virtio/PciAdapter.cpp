// virtio::PciFunction over drivers/pci. See PciAdapter.h.
#include "drivers/virtio/PciAdapter.h"

#include "kernel/lib/Format.h"

namespace virtio {

PciAdapter::PciAdapter(::pci::Device& device)
    : m_device(device)
{
    format_string(m_name, sizeof(m_name), "%02x:%02x.%x", device.address.bus, device.address.device,
        device.address.function);
}

u16 PciAdapter::find_capability(u8 id, u16 after)
{
    return after ? m_device.next_capability(id, u8(after)) : m_device.find_capability(id);
}

RegisterIo* PciAdapter::map_bar(u8 bar)
{
    if (bar >= 6 || m_device.bars[bar].io || !m_device.bars[bar].size)
        return nullptr;
    if (!m_mapped[bar]) {
        auto mapping = m_device.map_bar(bar);
        if (mapping.is_error())
            return nullptr;
        m_windows[bar] = MmioWindow(mapping.value());
        m_mapped[bar] = true;
    }
    return &m_windows[bar];
}

u64 PciAdapter::bar_size(u8 bar) { return bar < 6 && !m_device.bars[bar].io ? m_device.bars[bar].size : 0; }

u16 PciAdapter::msix_table_size() { return u16(min(m_device.msix_vector_count(), ::pci::Device::MAX_MSIX)); }

Result<void> PciAdapter::enable_msix(const MsixBinding* bindings, u16 count)
{
    TRY(m_device.enable_msix());
    for (u16 entry = 0; entry < count; entry++) {
        const MsixBinding& b = bindings[entry];
        auto bound = m_device.bind_msix_vector(entry, b.cpu, b.handler, b.context, b.name);
        if (bound.is_error()) {
            disable_msix();
            return bound.error();
        }
        m_bound_entries = u16(entry + 1);
    }
    return {};
}

void PciAdapter::disable_msix()
{
    for (u16 entry = 0; entry < m_bound_entries; entry++)
        m_device.release_msix_vector(entry);
    m_bound_entries = 0;
    m_device.disable_msix();
}

} // namespace virtio
