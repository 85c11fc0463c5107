// PCI devices, their BARs, capabilities and MSI/MSI-X vectors, and the
// driver model: a driver registers an id table (PCI_DRIVER(...), no list in
// init), pci::enumerate() scans every bus through ECAM and pci::probe_drivers() binds each
// device with the first driver whose table matches.
#pragma once

#include "drivers/pci/Config.h"
#include "kernel/irq/Irq.h"
#include "kernel/lib/Result.h"
#include "kernel/lib/Types.h"

namespace pci {

class Driver;

struct Bar {
    PhysAddr phys = 0;
    u64 size = 0;
    bool io = false;
    bool is_64 = false;
    bool prefetchable = false;
    volatile u8* mapping = nullptr; // after map_bar()
};

class Device {
public:
    Address address {};
    u16 vendor_id = 0;
    u16 device_id = 0;
    u8 class_code = 0;
    u8 subclass = 0;
    u8 prog_if = 0;
    u8 revision = 0;
    u8 header_type = 0;
    Bar bars[6];
    u8 msi_cap = 0;  // config offsets of the capabilities, 0 if absent
    u8 msix_cap = 0;
    u8 pcie_cap = 0;

    Driver* driver = nullptr;
    void* driver_data = nullptr;

    u32 class_triple() const { return u32(class_code) << 16 | u32(subclass) << 8 | prog_if; }
    u8 find_capability(u8 id) const;
    // Offset of the next capability with `id` after `from` (vendor capabilities repeat).
    u8 next_capability(u8 id, u8 from) const;

    u8 read8(u16 offset) const { return pci::read8(address, offset); }
    u16 read16(u16 offset) const { return pci::read16(address, offset); }
    u32 read32(u16 offset) const { return pci::read32(address, offset); }
    void write16(u16 offset, u16 value) const { pci::write16(address, offset, value); }
    void write32(u16 offset, u32 value) const { pci::write32(address, offset, value); }

    // Memory decoding and DMA (bus mastering) on, legacy INTx off.
    void enable_memory_and_bus_master();
    void disable_bus_master();
    // Map a memory BAR uncached (once; later calls return the same mapping).
    Result<volatile u8*> map_bar(u32 index);

    // --- MSI-X (PCI 3.0 §6.8.2) ---
    u32 msix_vector_count() const;
    // Map the table, mask every entry, enable MSI-X (INTx off).
    Result<void> enable_msix();
    void disable_msix();
    // Allocate a vector on `cpu`, bind `handler`, aim entry `entry` at it and
    // unmask it. Returns the CPU vector.
    Result<u8> bind_msix_vector(u32 entry, u32 cpu, irq::Handler handler, void* context, const char* name);
    void release_msix_vector(u32 entry);
    void mask_msix(u32 entry);
    void unmask_msix(u32 entry);
    bool msix_is_masked(u32 entry) const;
    bool msix_is_pending(u32 entry) const;
    u8 msix_cpu_vector(u32 entry) const { return entry < MAX_MSIX ? m_msix_vectors[entry] : 0; }
    u32 msix_cpu(u32 entry) const { return entry < MAX_MSIX ? m_msix_cpus[entry] : 0; }

    // --- MSI (PCI 3.0 §6.8.1), one vector ---
    Result<u8> enable_msi(u32 cpu, irq::Handler handler, void* context, const char* name);
    void mask_msi(bool masked);

    static constexpr u32 MAX_MSIX = 64;

private:
    volatile u32* msix_entry(u32 entry) const;

    volatile u8* m_msix_table = nullptr;
    volatile u8* m_msix_pba = nullptr;
    u8 m_msix_vectors[MAX_MSIX] = {};
    u8 m_msix_cpus[MAX_MSIX] = {};
    u8 m_msi_vector = 0;
    u32 m_msi_cpu = 0;
};

constexpr u16 ANY_ID = 0xffff;

struct DeviceId {
    u16 vendor = ANY_ID;
    u16 device = ANY_ID;
    u32 class_triple = 0; // class << 16 | subclass << 8 | prog_if
    u32 class_mask = 0;   // which bits of class_triple must match

    bool matches(const Device& device) const;
};

class Driver {
public:
    const char* name;
    const DeviceId* ids;
    usize id_count;

    Driver(const char* driver_name, const DeviceId* id_table, usize count)
        : name(driver_name), ids(id_table), id_count(count) { }
    virtual Result<void> probe(Device& device) = 0;
    // Let go of the device (pci::unbind): stop it, free what probe() made.
    // May refuse (EBUSY: a filesystem is mounted on its disk, its device file
    // is open); the device then stays bound and working. Thread context.
    virtual Result<void> remove(Device&) { return Error::from_errno(EOPNOTSUPP); }
    // Power-off is near: make the device quiesce and persist (NVMe CC.SHN).
    // Runs with interrupts off.
    virtual void shutdown(Device&) { }

    Driver* next_registered = nullptr;

protected:
    ~Driver() = default;
};

// Called from a static constructor by PCI_DRIVER; probes matching devices if
// enumeration already ran.
void register_driver(Driver& driver);

struct DriverRegistration {
    explicit DriverRegistration(Driver& driver) { register_driver(driver); }
};
#define PCI_DRIVER(driver_object) static ::pci::DriverRegistration pci_registration_##driver_object(driver_object)

// Boot, in two steps. enumerate(): config access, every bus scanned, BARs
// sized. It runs before the other CPUs start: sizing a BAR briefly turns its
// decoding off, which changes the machine's memory map, and QEMU's TCG has
// crashed when another vCPU did MMIO while that happened.
// probe_drivers(): bind drivers (they size per-CPU queues by the CPUs online,
// so this runs after SMP bring-up), then print the table.
void enumerate();
void probe_drivers();
usize device_count();
Device* device_at(usize index);
void print_devices();
// Unbind every driver (remove()); refusals are logged and the device stays bound.
void remove_all();
// Runtime unbinding of one device, as Linux's sysfs "unbind"/"bind": the
// driver's remove() runs and the binding is cleared (the table shows "-");
// rebind() probes the device again against every registered driver.
// unbind: ENODEV if no driver is bound, or the driver's refusal.
// rebind: EBUSY if a driver is bound, ENODEV if none matches or probes.
Result<void> unbind(Device& device);
Result<void> rebind(Device& device);
// The first device bound to driver `name` ("nvme", "virtio-blk"), or null.
Device* find_bound_device(const char* driver_name);
// The first device whose ids match one of `driver_name`'s, bound or not.
Device* find_device_for_driver(const char* driver_name);
// Call every bound driver's shutdown() (installed as power_ops().prepare_shutdown).
void shutdown_all();

} // namespace pci
