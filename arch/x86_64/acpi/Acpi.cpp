// ACPI table discovery and the MADT / MCFG parsers.
#include "arch/x86_64/acpi/Acpi.h"

#include "arch/x86_64/acpi/AcpiInternal.h"
#include "arch/x86_64/boot/BootInfo.h"
#include "kernel/lib/String.h"
#include "kernel/log/Log.h"
#include "kernel/mm/DirectMap.h"

namespace acpi {
namespace {

constexpr usize MAX_TABLES = 64;
constexpr usize MAX_PROCESSORS = 256;
constexpr usize MAX_IO_APICS = 8;
constexpr usize MAX_OVERRIDES = 16;
constexpr usize MAX_ECAM = 8;

const SdtHeader* g_tables[MAX_TABLES];
usize g_table_count = 0;
bool g_available = false;

Processor g_processors[MAX_PROCESSORS];
usize g_processor_count = 0;
IoApic g_io_apics[MAX_IO_APICS];
usize g_io_apic_count = 0;
MadtInterruptOverride g_overrides[MAX_OVERRIDES];
usize g_override_count = 0;
PhysAddr g_local_apic_address = 0xfee00000;
bool g_has_8259 = true;
EcamRegion g_ecam[MAX_ECAM];
usize g_ecam_count = 0;

bool checksum_ok(const void* data, usize length)
{
    u8 sum = 0;
    for (usize i = 0; i < length; i++)
        sum = static_cast<u8>(sum + static_cast<const u8*>(data)[i]);
    return sum == 0;
}

const SdtHeader* map_table(PhysAddr phys)
{
    if (!phys)
        return nullptr;
    auto* header = map_physical<const SdtHeader>(phys, sizeof(SdtHeader));
    if (!header || header->length < sizeof(SdtHeader))
        return nullptr;
    return map_physical<const SdtHeader>(phys, header->length);
}

void add_table(PhysAddr phys)
{
    const SdtHeader* table = map_table(phys);
    if (!table)
        return;
    if (!checksum_ok(table, table->length))
        log_warn("acpi", "table %.4s at 0x%lx has a bad checksum (used anyway)", table->signature, phys);
    if (g_table_count < MAX_TABLES)
        g_tables[g_table_count++] = table;
}

// RSDT entries are 32-bit physical addresses, XSDT entries 64-bit (§5.2.7, §5.2.8).
template <typename Entry>
void add_root_entries(const SdtHeader* root)
{
    usize count = (root->length - sizeof(SdtHeader)) / sizeof(Entry);
    auto* bytes = reinterpret_cast<const u8*>(root) + sizeof(SdtHeader);
    for (usize i = 0; i < count; i++) {
        Entry entry;
        memcpy(&entry, bytes + i * sizeof(Entry), sizeof(Entry)); // XSDT entries are 4-aligned only
        add_table(entry);
    }
}

void parse_madt(const Madt* madt)
{
    g_local_apic_address = madt->local_apic_address;
    g_has_8259 = madt->flags & 1;
    auto* cursor = reinterpret_cast<const u8*>(madt) + sizeof(Madt);
    auto* end = reinterpret_cast<const u8*>(madt) + madt->header.length;
    while (cursor + sizeof(MadtEntry) <= end) {
        auto* entry = reinterpret_cast<const MadtEntry*>(cursor);
        if (entry->length < sizeof(MadtEntry) || cursor + entry->length > end)
            break;
        switch (entry->type) {
        case MADT_LOCAL_APIC: {
            auto* lapic = reinterpret_cast<const MadtLocalApic*>(entry);
            if ((lapic->flags & (LAPIC_ENABLED | LAPIC_ONLINE_CAPABLE)) && g_processor_count < MAX_PROCESSORS)
                g_processors[g_processor_count++] = {lapic->apic_id, lapic->processor_uid};
            break;
        }
        case MADT_LOCAL_X2APIC: {
            auto* x2 = reinterpret_cast<const MadtLocalX2Apic*>(entry);
            if ((x2->flags & (LAPIC_ENABLED | LAPIC_ONLINE_CAPABLE)) && g_processor_count < MAX_PROCESSORS)
                g_processors[g_processor_count++] = {x2->x2apic_id, x2->processor_uid};
            break;
        }
        case MADT_IO_APIC: {
            auto* io = reinterpret_cast<const MadtIoApic*>(entry);
            if (g_io_apic_count < MAX_IO_APICS)
                g_io_apics[g_io_apic_count++] = {io->io_apic_id, io->address, io->gsi_base};
            break;
        }
        case MADT_INTERRUPT_OVERRIDE: {
            auto* iso = reinterpret_cast<const MadtInterruptOverride*>(entry);
            if (iso->bus == 0 && g_override_count < MAX_OVERRIDES)
                g_overrides[g_override_count++] = *iso;
            break;
        }
        case MADT_LOCAL_APIC_ADDRESS_OVERRIDE:
            g_local_apic_address = reinterpret_cast<const MadtLocalApicAddressOverride*>(entry)->address;
            break;
        default:
            break;
        }
        cursor += entry->length;
    }
}

void parse_mcfg(const SdtHeader* mcfg)
{
    // A table too short for its fixed part has no allocations (and must not
    // make the subtraction below wrap).
    if (mcfg->length < MCFG_ALLOCATIONS_OFFSET) {
        log_warn("acpi", "MCFG: %u bytes, shorter than its header: ignored", mcfg->length);
        return;
    }
    usize count = (mcfg->length - MCFG_ALLOCATIONS_OFFSET) / sizeof(McfgAllocation);
    auto* allocations = reinterpret_cast<const McfgAllocation*>(reinterpret_cast<const u8*>(mcfg) +
                                                                MCFG_ALLOCATIONS_OFFSET);
    for (usize i = 0; i < count && g_ecam_count < MAX_ECAM; i++) {
        const McfgAllocation& a = allocations[i];
        g_ecam[g_ecam_count++] = {a.base, a.segment, a.start_bus, a.end_bus};
    }
}

void print_summary()
{
    log_raw("acpi: %zu tables:", g_table_count);
    for (usize i = 0; i < g_table_count; i++)
        log_raw(" %.4s", g_tables[i]->signature);
    log_raw("\n");
    log_raw("acpi: MADT: %zu CPUs (APIC IDs", g_processor_count);
    for (usize i = 0; i < g_processor_count; i++)
        log_raw(" %u", g_processors[i].apic_id);
    log_raw("), local APIC 0x%lx, %s\n", g_local_apic_address, g_has_8259 ? "8259 PICs present" : "no 8259");
    for (usize i = 0; i < g_io_apic_count; i++)
        log_raw("acpi: MADT: IOAPIC id %u at 0x%lx, GSI base %u\n", g_io_apics[i].id, g_io_apics[i].address,
                g_io_apics[i].gsi_base);
    for (usize i = 0; i < g_override_count; i++) {
        const MadtInterruptOverride& o = g_overrides[i];
        log_raw("acpi: MADT: ISA IRQ %u -> GSI %u%s%s\n", o.source, o.gsi,
                (o.flags & INTI_TRIGGER_MASK) == INTI_TRIGGER_LEVEL ? " level" : "",
                (o.flags & INTI_POLARITY_MASK) == INTI_POLARITY_ACTIVE_LOW ? " active-low" : "");
    }
    for (usize i = 0; i < g_ecam_count; i++)
        log_raw("acpi: MCFG: ECAM 0x%lx segment %u buses %u-%u\n", g_ecam[i].base, g_ecam[i].segment,
                g_ecam[i].start_bus, g_ecam[i].end_bus);
}

} // namespace

void init()
{
    const BootInfo& info = boot_info();
    if (info.rsdp_length < RSDP_V1_LENGTH) {
        log_warn("acpi", "no RSDP from the boot loader: running without ACPI");
        return;
    }
    Rsdp rsdp{};
    memcpy(&rsdp, info.rsdp, min(info.rsdp_length, sizeof(rsdp)));
    if (memcmp(rsdp.signature, "RSD PTR ", 8) != 0 || !checksum_ok(&rsdp, RSDP_V1_LENGTH)) {
        log_warn("acpi", "RSDP signature or checksum invalid: running without ACPI");
        return;
    }
    // §5.2.5.3: use the XSDT when revision >= 2 provides one, else the RSDT.
    bool use_xsdt = rsdp.revision >= 2 && info.rsdp_length >= sizeof(Rsdp) && rsdp.xsdt_address;
    const SdtHeader* root = map_table(use_xsdt ? rsdp.xsdt_address : rsdp.rsdt_address);
    if (!root) {
        log_warn("acpi", "root table unreadable: running without ACPI");
        return;
    }
    if (use_xsdt)
        add_root_entries<u64>(root);
    else
        add_root_entries<u32>(root);
    g_available = true;
    log_info("acpi", "ACPI %s, OEM %.6s, %s at 0x%lx", rsdp.revision >= 2 ? "2.0+" : "1.0", rsdp.oem_id,
             use_xsdt ? "XSDT" : "RSDT", use_xsdt ? rsdp.xsdt_address : static_cast<u64>(rsdp.rsdt_address));

    if (auto* madt = find_table("APIC"))
        parse_madt(reinterpret_cast<const Madt*>(madt));
    else
        log_warn("acpi", "no MADT: only the boot CPU will run");
    if (auto* mcfg = find_table("MCFG"))
        parse_mcfg(mcfg);
    print_summary();
    if (auto* fadt = find_table("FACP"))
        init_power(reinterpret_cast<const Fadt*>(fadt));
    else
        log_warn("acpi", "no FADT: no ACPI power-off");
}

bool available() { return g_available; }

const SdtHeader* find_table(const char* signature, usize index)
{
    for (usize i = 0; i < g_table_count; i++) {
        if (memcmp(g_tables[i]->signature, signature, 4) == 0 && index-- == 0)
            return g_tables[i];
    }
    return nullptr;
}

usize processor_count() { return g_processor_count; }
const Processor& processor(usize index) { return g_processors[index]; }
PhysAddr local_apic_address() { return g_local_apic_address; }
usize io_apic_count() { return g_io_apic_count; }
const IoApic& io_apic(usize index) { return g_io_apics[index]; }
bool has_8259() { return g_has_8259; }

LegacyIrq legacy_irq(u8 isa_irq)
{
    for (usize i = 0; i < g_override_count; i++) {
        const MadtInterruptOverride& o = g_overrides[i];
        if (o.source != isa_irq)
            continue;
        // "Conforms to the bus" means ISA: edge, active high.
        return {o.gsi, (o.flags & INTI_POLARITY_MASK) == INTI_POLARITY_ACTIVE_LOW,
                (o.flags & INTI_TRIGGER_MASK) == INTI_TRIGGER_LEVEL};
    }
    return {isa_irq, false, false};
}

usize ecam_regions(EcamRegion* out, usize max)
{
    for (usize i = 0; i < g_ecam_count && i < max; i++)
        out[i] = g_ecam[i];
    return g_ecam_count;
}

} // namespace acpi
