#include "drivers/pci/Pci.h"

#include "arch/x86_64/mm/Mmio.h"
#include "arch/x86_64/acpi/Acpi.h"
#include "drivers/pci/MsixLayout.h"
#include "kernel/lib/String.h"
#include "kernel/log/Log.h"
#include "kernel/mm/Heap.h"
#include "kernel/power/Power.h"

namespace pci {

namespace {

constexpr usize MAX_DEVICES = 64;

Device* g_devices[MAX_DEVICES];
usize g_device_count = 0;
Driver* g_drivers = nullptr; // constant-initialised: safe from static constructors
bool g_enumerated = false;

const char* class_name(u8 class_code, u8 subclass)
{
    switch (class_code) {
    case 0x01:
        switch (subclass) {
        case 0x00: return "SCSI storage";
        case 0x01: return "IDE";
        case 0x06: return "SATA";
        case 0x08: return "NVMe";
        default: return "storage";
        }
    case 0x02: return "network";
    case 0x03: return "display";
    case 0x06:
        switch (subclass) {
        case 0x00: return "host bridge";
        case 0x01: return "ISA bridge";
        case 0x04: return "PCI bridge";
        default: return "bridge";
        }
    case 0x0c: return subclass == 0x05 ? "SMBus" : "serial bus";
    default: return "other";
    }
}

void size_bars(Device& d)
{
    const u8 type = d.header_type & HEADER_TYPE_MASK;
    const u32 bar_count = type == 0 ? 6 : type == HEADER_BRIDGE ? 2 : 0;
    // Decoding off while the BARs read back their size masks (PCI 3.0 §6.2.5.1).
    const u16 command = d.read16(config::COMMAND);
    d.write16(config::COMMAND, command & ~(command::IO_SPACE | command::MEMORY_SPACE));
    for (u32 i = 0; i < bar_count; i++) {
        const u16 offset = static_cast<u16>(config::BAR0 + i * 4);
        const u32 original = d.read32(offset);
        d.write32(offset, ~0u);
        const u32 mask = d.read32(offset);
        d.write32(offset, original);
        Bar& bar = d.bars[i];
        if (original & BAR_IO) {
            bar.io = true;
            bar.phys = original & ~3u;
            bar.size = (~(mask & ~3u) + 1) & 0xffff;
            continue;
        }
        bar.prefetchable = original & BAR_PREFETCHABLE;
        u64 size_mask = mask & ~0xfu;
        bar.phys = original & ~0xfu;
        if ((original & BAR_TYPE_MASK) == BAR_TYPE_64 && i + 1 < bar_count) {
            const u16 high_offset = static_cast<u16>(offset + 4);
            const u32 high = d.read32(high_offset);
            d.write32(high_offset, ~0u);
            const u32 high_mask = d.read32(high_offset);
            d.write32(high_offset, high);
            bar.is_64 = true;
            bar.phys |= u64(high) << 32;
            size_mask |= u64(high_mask) << 32;
            bar.size = size_mask ? ~size_mask + 1 : 0;
            i++; // the upper half is not a BAR of its own
        } else {
            bar.size = size_mask ? (~size_mask + 1) & 0xffff'ffffu : 0;
        }
    }
    d.write16(config::COMMAND, command);
}

Result<void> probe_device(Device& d)
{
    if (d.driver)
        return Error::from_errno(EBUSY);
    Error last_error = Error::from_errno(ENODEV);
    for (Driver* driver = g_drivers; driver; driver = driver->next_registered) {
        for (usize i = 0; i < driver->id_count; i++) {
            if (!driver->ids[i].matches(d))
                continue;
            d.driver = driver;
            auto result = driver->probe(d);
            if (result.is_error()) {
                log_warn("pci", "%02x:%02x.%u: %s probe failed: errno %d", d.address.bus, d.address.device,
                         d.address.function, driver->name, result.error().code());
                d.driver = nullptr;
                d.driver_data = nullptr;
                last_error = result.error();
                continue;
            }
            return {};
        }
    }
    return last_error;
}

bool driver_matches(const Driver& driver, const Device& d)
{
    for (usize i = 0; i < driver.id_count; i++)
        if (driver.ids[i].matches(d))
            return true;
    return false;
}

void scan_bus(u16 segment, u8 bus, u32 depth);

void scan_function(Address address, u32 depth)
{
    const u16 vendor = read16(address, config::VENDOR_ID);
    if (vendor == 0xffff || g_device_count == MAX_DEVICES)
        return;
    auto* d = new Device();
    if (!d)
        return;
    d->address = address;
    d->vendor_id = vendor;
    d->device_id = read16(address, config::DEVICE_ID);
    d->revision = read8(address, config::REVISION);
    d->prog_if = read8(address, config::PROG_IF);
    d->subclass = read8(address, config::SUBCLASS);
    d->class_code = read8(address, config::CLASS);
    d->header_type = read8(address, config::HEADER_TYPE);
    d->msi_cap = d->find_capability(cap::MSI);
    d->msix_cap = d->find_capability(cap::MSIX);
    d->pcie_cap = d->find_capability(cap::PCIE);
    size_bars(*d);
    g_devices[g_device_count++] = d;
    if ((d->header_type & HEADER_TYPE_MASK) == HEADER_BRIDGE && depth < 8) {
        const u8 secondary = read8(address, config::SECONDARY_BUS);
        if (secondary > address.bus)
            scan_bus(address.segment, secondary, depth + 1);
    }
}

void scan_bus(u16 segment, u8 bus, u32 depth)
{
    for (u8 device = 0; device < 32; device++) {
        Address address {segment, bus, device, 0};
        if (read16(address, config::VENDOR_ID) == 0xffff)
            continue;
        const bool multi = read8(address, config::HEADER_TYPE) & HEADER_MULTI_FUNCTION;
        for (u8 function = 0; function < (multi ? 8 : 1); function++) {
            address.function = function;
            scan_function(address, depth);
        }
    }
}

} // namespace

bool DeviceId::matches(const Device& d) const
{
    if (vendor != ANY_ID && vendor != d.vendor_id)
        return false;
    if (device != ANY_ID && device != d.device_id)
        return false;
    return (d.class_triple() & class_mask) == (class_triple & class_mask);
}

u8 Device::next_capability(u8 id, u8 from) const
{
    if (!(read16(config::STATUS) & STATUS_CAPABILITIES_LIST))
        return 0;
    u8 offset = from ? read8(static_cast<u16>(from + 1)) : read8(config::CAPABILITIES);
    // The list lives in 0x40-0xff; a loop guard stops a corrupt chain.
    for (u32 hops = 0; offset >= 0x40 && hops < 48; hops++) {
        offset &= ~3u;
        if (read8(offset) == id)
            return offset;
        offset = read8(static_cast<u16>(offset + 1));
    }
    return 0;
}

u8 Device::find_capability(u8 id) const { return next_capability(id, 0); }

void Device::enable_memory_and_bus_master()
{
    const u16 c = read16(config::COMMAND);
    write16(config::COMMAND, c | command::MEMORY_SPACE | command::BUS_MASTER | command::INTX_DISABLE);
}

void Device::disable_bus_master()
{
    write16(config::COMMAND, read16(config::COMMAND) & ~command::BUS_MASTER);
}

Result<volatile u8*> Device::map_bar(u32 index)
{
    if (index >= 6 || bars[index].io || bars[index].size == 0)
        return Error::from_errno(EINVAL);
    Bar& bar = bars[index];
    if (!bar.mapping) {
        bar.mapping = static_cast<volatile u8*>(mm::map_mmio(bar.phys, bar.size));
        if (!bar.mapping)
            return Error::from_errno(ENOMEM);
    }
    return bar.mapping;
}

// --- MSI-X ---------------------------------------------------------------------------

namespace {
// MSI-X capability layout (PCI 3.0 §6.8.2.1-4).
constexpr u16 MSIX_CONTROL = 2;
constexpr u16 MSIX_TABLE = 4;
constexpr u16 MSIX_PBA = 8;
constexpr u16 MSIX_CONTROL_ENABLE = 1u << 15;
constexpr u16 MSIX_CONTROL_FUNCTION_MASK = 1u << 14;
constexpr u32 MSIX_ENTRY_ADDRESS_LOW = 0;
constexpr u32 MSIX_ENTRY_ADDRESS_HIGH = 1;
constexpr u32 MSIX_ENTRY_DATA = 2;
constexpr u32 MSIX_ENTRY_CONTROL = 3;
constexpr u32 MSIX_ENTRY_MASKED = 1u << 0;
// MSI capability layout (PCI 3.0 §6.8.1).
constexpr u16 MSI_CONTROL = 2;
constexpr u16 MSI_CONTROL_ENABLE = 1u << 0;
constexpr u16 MSI_CONTROL_64BIT = 1u << 7;
constexpr u16 MSI_CONTROL_PER_VECTOR_MASK = 1u << 8;
} // namespace

u32 Device::msix_vector_count() const
{
    return msix_cap ? (read16(static_cast<u16>(msix_cap + MSIX_CONTROL)) & 0x7ff) + 1u : 0;
}

volatile u32* Device::msix_entry(u32 entry) const
{
    return reinterpret_cast<volatile u32*>(m_msix_table + entry * MSIX_ENTRY_BYTES);
}

Result<void> Device::enable_msix()
{
    if (!msix_cap)
        return Error::from_errno(ENODEV);
    const u32 table = read32(static_cast<u16>(msix_cap + MSIX_TABLE));
    const u32 pba = read32(static_cast<u16>(msix_cap + MSIX_PBA));
    u64 bar_bytes[BAR_COUNT];
    for (u32 i = 0; i < BAR_COUNT; i++)
        bar_bytes[i] = bars[i].io ? 0 : bars[i].size;
    const u32 entries = msix_vector_count();
    if (!msix_structure_fits(table, msix_table_bytes(entries), bar_bytes) ||
        !msix_structure_fits(pba, msix_pba_bytes(entries), bar_bytes)) {
        log_error("pci", "%02x:%02x.%u: MSI-X table 0x%x / PBA 0x%x for %u entries lie outside their BARs",
                  address.bus, address.device, address.function, table, pba, entries);
        return Error::from_errno(ENODEV);
    }
    volatile u8* table_bar = TRY(map_bar(msix_bir(table)));
    volatile u8* pba_bar = TRY(map_bar(msix_bir(pba)));
    m_msix_table = table_bar + msix_offset(table);
    m_msix_pba = pba_bar + msix_offset(pba);
    const u16 control_offset = static_cast<u16>(msix_cap + MSIX_CONTROL);
    // Function-mask while the entries are masked one by one, then enable.
    write16(control_offset, read16(control_offset) | MSIX_CONTROL_FUNCTION_MASK | MSIX_CONTROL_ENABLE);
    for (u32 i = 0; i < msix_vector_count(); i++)
        msix_entry(i)[MSIX_ENTRY_CONTROL] = MSIX_ENTRY_MASKED;
    write16(config::COMMAND, read16(config::COMMAND) | command::INTX_DISABLE);
    write16(control_offset, (read16(control_offset) | MSIX_CONTROL_ENABLE) & ~MSIX_CONTROL_FUNCTION_MASK);
    return {};
}

void Device::disable_msix()
{
    if (!msix_cap)
        return;
    const u16 control_offset = static_cast<u16>(msix_cap + MSIX_CONTROL);
    write16(control_offset, read16(control_offset) & ~MSIX_CONTROL_ENABLE);
}

Result<u8> Device::bind_msix_vector(u32 entry, u32 cpu, irq::Handler handler, void* context, const char* name)
{
    if (!m_msix_table || entry >= msix_vector_count() || entry >= MAX_MSIX)
        return Error::from_errno(EINVAL);
    const u8 vector = TRY(irq::allocate_vector(cpu, handler, context, name));
    const irq::MsiMessage message = irq::msi_message(cpu, vector);
    volatile u32* e = msix_entry(entry);
    // Program the message while masked, then unmask (§6.8.2.9).
    e[MSIX_ENTRY_CONTROL] = MSIX_ENTRY_MASKED;
    e[MSIX_ENTRY_ADDRESS_LOW] = static_cast<u32>(message.address);
    e[MSIX_ENTRY_ADDRESS_HIGH] = static_cast<u32>(message.address >> 32);
    e[MSIX_ENTRY_DATA] = message.data;
    m_msix_vectors[entry] = vector;
    m_msix_cpus[entry] = static_cast<u8>(cpu);
    e[MSIX_ENTRY_CONTROL] = 0;
    return vector;
}

void Device::release_msix_vector(u32 entry)
{
    if (entry >= MAX_MSIX || !m_msix_vectors[entry])
        return;
    mask_msix(entry);
    irq::free_vector(m_msix_cpus[entry], m_msix_vectors[entry]);
    m_msix_vectors[entry] = 0;
}

void Device::mask_msix(u32 entry)
{
    volatile u32* e = msix_entry(entry);
    e[MSIX_ENTRY_CONTROL] = e[MSIX_ENTRY_CONTROL] | MSIX_ENTRY_MASKED;
    (void)e[MSIX_ENTRY_CONTROL]; // flush the posted write before returning
}

void Device::unmask_msix(u32 entry)
{
    volatile u32* e = msix_entry(entry);
    e[MSIX_ENTRY_CONTROL] = e[MSIX_ENTRY_CONTROL] & ~MSIX_ENTRY_MASKED;
}

bool Device::msix_is_masked(u32 entry) const { return msix_entry(entry)[MSIX_ENTRY_CONTROL] & MSIX_ENTRY_MASKED; }

bool Device::msix_is_pending(u32 entry) const
{
    const volatile u64* pba = reinterpret_cast<const volatile u64*>(m_msix_pba);
    return (pba[entry / 64] >> (entry % 64)) & 1;
}

// --- MSI ---------------------------------------------------------------------------------

Result<u8> Device::enable_msi(u32 cpu, irq::Handler handler, void* context, const char* name)
{
    if (!msi_cap)
        return Error::from_errno(ENODEV);
    const u8 vector = TRY(irq::allocate_vector(cpu, handler, context, name));
    const irq::MsiMessage message = irq::msi_message(cpu, vector);
    const u16 control = read16(static_cast<u16>(msi_cap + MSI_CONTROL));
    write32(static_cast<u16>(msi_cap + 4), static_cast<u32>(message.address));
    u16 data_offset = 8;
    if (control & MSI_CONTROL_64BIT) {
        write32(static_cast<u16>(msi_cap + 8), static_cast<u32>(message.address >> 32));
        data_offset = 12;
    }
    write16(static_cast<u16>(msi_cap + data_offset), static_cast<u16>(message.data));
    // One message (MME = 0), enabled; INTx off.
    write16(static_cast<u16>(msi_cap + MSI_CONTROL), (control & ~(7u << 4)) | MSI_CONTROL_ENABLE);
    write16(config::COMMAND, read16(config::COMMAND) | command::INTX_DISABLE);
    m_msi_vector = vector;
    m_msi_cpu = cpu;
    return vector;
}

void Device::mask_msi(bool masked)
{
    const u16 control = read16(static_cast<u16>(msi_cap + MSI_CONTROL));
    if (!(control & MSI_CONTROL_PER_VECTOR_MASK))
        return;
    const u16 mask_offset = static_cast<u16>(msi_cap + ((control & MSI_CONTROL_64BIT) ? 0x10 : 0x0c));
    write32(mask_offset, masked ? 1u : 0u);
}

// --- registry and boot ---------------------------------------------------------------------

void register_driver(Driver& driver)
{
    driver.next_registered = g_drivers;
    g_drivers = &driver;
    if (g_enumerated)
        for (usize i = 0; i < g_device_count; i++)
            (void)probe_device(*g_devices[i]);
}

usize device_count() { return g_device_count; }
Device* device_at(usize index) { return index < g_device_count ? g_devices[index] : nullptr; }

void print_devices()
{
    log_raw("PCI devices (%s):\n  %-12s %-9s %-6s %-14s %s\n", using_ecam() ? "ECAM" : "legacy ports", "address",
            "id", "class", "", "driver");
    for (usize i = 0; i < g_device_count; i++) {
        const Device& d = *g_devices[i];
        log_raw("  %04x:%02x:%02x.%u %04x:%04x %02x%02x%02x %-14s %s\n", d.address.segment, d.address.bus,
                d.address.device, d.address.function, d.vendor_id, d.device_id, d.class_code, d.subclass, d.prog_if,
                class_name(d.class_code, d.subclass), d.driver ? d.driver->name : "-");
    }
}

void enumerate()
{
    init_config_access();
    acpi::EcamRegion regions[4];
    const usize regions_found = acpi::ecam_regions(regions, 4);
    if (regions_found == 0) {
        scan_bus(0, 0, 0);
    } else {
        for (usize i = 0; i < min<usize>(regions_found, 4); i++)
            scan_bus(regions[i].segment, regions[i].start_bus, 0);
    }
    log_info("pci", "%zu functions found", g_device_count);
}

void probe_drivers()
{
    g_enumerated = true;
    power_ops().prepare_shutdown = shutdown_all;
    for (usize i = 0; i < g_device_count; i++)
        (void)probe_device(*g_devices[i]);
    print_devices();
}

void shutdown_all()
{
    for (usize i = 0; i < g_device_count; i++) {
        Device& d = *g_devices[i];
        if (d.driver)
            d.driver->shutdown(d);
    }
}

void remove_all()
{
    for (usize i = 0; i < g_device_count; i++) {
        Device& d = *g_devices[i];
        if (!d.driver)
            continue;
        if (auto result = unbind(d); result.is_error())
            log_warn("pci", "%02x:%02x.%u: %s stays bound: errno %d", d.address.bus, d.address.device,
                     d.address.function, d.driver->name, result.error().code());
    }
}

Result<void> unbind(Device& d)
{
    Driver* driver = d.driver;
    if (!driver)
        return Error::from_errno(ENODEV);
    TRY(driver->remove(d));
    d.driver = nullptr;
    d.driver_data = nullptr;
    log_info("pci", "%02x:%02x.%u: %s unbound", d.address.bus, d.address.device, d.address.function, driver->name);
    return {};
}

Result<void> rebind(Device& d)
{
    TRY(probe_device(d));
    log_info("pci", "%02x:%02x.%u: bound to %s", d.address.bus, d.address.device, d.address.function,
             d.driver->name);
    return {};
}

Device* find_bound_device(const char* driver_name)
{
    for (usize i = 0; i < g_device_count; i++) {
        Device& d = *g_devices[i];
        if (d.driver && strcmp(d.driver->name, driver_name) == 0)
            return &d;
    }
    return nullptr;
}

Device* find_device_for_driver(const char* driver_name)
{
    for (Driver* driver = g_drivers; driver; driver = driver->next_registered) {
        if (strcmp(driver->name, driver_name) != 0)
            continue;
        for (usize i = 0; i < g_device_count; i++)
            if (driver_matches(*driver, *g_devices[i]))
                return g_devices[i];
    }
    return nullptr;
}

} // namespace pci
