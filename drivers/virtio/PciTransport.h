// The virtio 1.x modern PCI transport (virtio 1.2 §4.1): finds the common,
// notify, ISR and device configuration structures through the vendor
// capabilities, and runs the device through the initialization sequence of
// §3.1.1 (reset, ACKNOWLEDGE, DRIVER, feature negotiation, FEATURES_OK, queue
// setup with one MSI-X vector each, DRIVER_OK). The legacy (0.9.5) transport
// is not implemented: devices without VERSION_1 are refused.
//
// It reaches the hardware only through PciFunction (config space, BARs,
// MSI-X), which drivers/pci provides in the kernel and a device model
// provides in host tests, so the whole sequence is tested on the host.
#pragma once

#include "drivers/virtio/DeviceStatus.h"
#include "drivers/virtio/PciCapabilities.h"
#include "drivers/virtio/SplitVirtqueue.h"
#include "kernel/irq/Irq.h"
#include "kernel/lib/Result.h"
#include "kernel/lib/Types.h"

namespace virtio {

// Access to one mapped memory BAR with explicit widths (§4.1.3.1: each field
// with its own width). MMIO in the kernel.
class RegisterIo {
public:
    virtual u8 read8(u64 offset) = 0;
    virtual u16 read16(u64 offset) = 0;
    virtual u32 read32(u64 offset) = 0;
    virtual void write8(u64 offset, u8 value) = 0;
    virtual void write16(u64 offset, u16 value) = 0;
    virtual void write32(u64 offset, u32 value) = 0;

protected:
    ~RegisterIo() = default;
};

// MSI-X table entry i -> a handler on a CPU.
struct MsixBinding {
    u32 cpu;
    irq::Handler handler;
    void* context;
    const char* name; // for /proc/interrupts: "virtio0-req.0"
};

// What the transport needs from the PCI layer for one function.
class PciFunction {
public:
    virtual const char* name() = 0; // "00:03.0"
    virtual u16 device_id() = 0;
    virtual u8 config_read8(u16 offset) = 0;
    virtual u32 config_read32(u16 offset) = 0;
    // Config-space offset of the first capability with `id` after the one at
    // `after` (0: from the start of the list); 0 when there is none.
    virtual u16 find_capability(u8 id, u16 after) = 0;
    // The memory BAR `bar` mapped uncached (nullptr if absent or an I/O BAR),
    // and its size.
    virtual RegisterIo* map_bar(u8 bar) = 0;
    virtual u64 bar_size(u8 bar) = 0;
    virtual void enable_bus_master() = 0;
    // MSI-X: the table size (0 without MSI-X); program entries 0..count-1
    // and enable MSI-X; undo it.
    virtual u16 msix_table_size() = 0;
    virtual Result<void> enable_msix(const MsixBinding* bindings, u16 count) = 0;
    virtual void disable_msix() = 0;

protected:
    ~PciFunction() = default;
};

// Where to write to notify one queue (§4.1.4.4).
struct QueueNotifier {
    RegisterIo* io = nullptr;
    u64 offset = 0;
    u16 queue = 0;

    // §4.1.5.2: without VIRTIO_F_NOTIFICATION_DATA the driver writes the
    // 16-bit queue index to the queue's notification address.
    void notify() const { io->write16(offset, queue); }
};

class PciTransport {
public:
    // One of the structures found through a capability: BAR + offset + length.
    struct Region {
        RegisterIo* io = nullptr;
        u8 bar = 0;
        u64 offset = 0;
        u32 length = 0;

        bool present() const { return io != nullptr; }
    };

    // Find the capabilities and map their BARs. ENODEV when the function has
    // no usable common, notify or ISR structure (e.g. a legacy-only device).
    static Result<PciTransport> probe(PciFunction& function);

    PciFunction& function() { return *m_function; }
    const Region& common() const { return m_common; }
    const Region& notify_region() const { return m_notify; }
    const Region& isr() const { return m_isr; }
    const Region& device_config() const { return m_device; }
    u32 notify_off_multiplier() const { return m_notify_multiplier; }

    // §2.4 / §4.1.4.3.2: write 0 and wait until the device reads back 0.
    // ETIMEDOUT if it never does.
    Result<void> reset();
    u8 status();
    void add_status(u8 bits);
    // §3.1.1 step 8: something went wrong; the device may be reset later.
    void fail() { add_status(STATUS_FAILED); }

    u64 device_features();
    // §3.1.1 steps 4-6: accept the intersection of the device's features and
    // `driver_features`, set FEATURES_OK and check the device kept it.
    // ENODEV without VERSION_1, EIO when the device refuses the subset.
    Result<u64> negotiate(u64 driver_features);

    u16 num_queues();
    // The device's maximum size for `queue` (0: the queue does not exist).
    u16 queue_max_size(u16 queue);
    // §4.1.5.1.3: size, ring addresses, MSI-X entry (read back: NO_VECTOR
    // means the device could not use it -> EIO), then queue_enable. Returns
    // where to notify the queue.
    Result<QueueNotifier> enable_queue(u16 queue, const SplitVirtqueue& ring, u16 msix_entry);
    // Configuration-change interrupts on MSI-X entry `msix_entry` (or NO_VECTOR).
    Result<void> set_config_vector(u16 msix_entry);
    void driver_ok() { add_status(STATUS_DRIVER_OK); }

    // Device-specific configuration, each field with its width (§4.1.3.1);
    // 64-bit fields as two 32-bit halves. Reads beyond the structure's
    // length (older devices have shorter layouts) return 0. Wrap multi-field reads in
    // read_device_config() so they form one consistent snapshot.
    u8 config_generation();
    u8 device_read8(u32 offset);
    u16 device_read16(u32 offset);
    u32 device_read32(u32 offset);
    u64 device_read64(u32 offset);
    // §2.5.1 / §4.1.4.3.1: repeat `read` until config_generation is the same
    // before and after it. false if the device never settles.
    template <typename Fn> bool read_device_config(Fn&& read)
    {
        for (int attempt = 0; attempt < MAX_CONFIG_READ_ATTEMPTS; attempt++) {
            const u8 before = config_generation();
            read();
            if (config_generation() == before)
                return true;
        }
        return false;
    }

    // §4.1.4.5: reading the ISR status clears it (INTx only; unused with MSI-X).
    u8 read_isr() { return m_isr.io->read8(m_isr.offset); }

private:
    static constexpr int MAX_CONFIG_READ_ATTEMPTS = 100;

    explicit PciTransport(PciFunction& function)
        : m_function(&function)
    {
    }

    u8 common_read8(u32 field) { return m_common.io->read8(m_common.offset + field); }
    u16 common_read16(u32 field) { return m_common.io->read16(m_common.offset + field); }
    u32 common_read32(u32 field) { return m_common.io->read32(m_common.offset + field); }
    void common_write8(u32 field, u8 v) { m_common.io->write8(m_common.offset + field, v); }
    void common_write16(u32 field, u16 v) { m_common.io->write16(m_common.offset + field, v); }
    void common_write32(u32 field, u32 v) { m_common.io->write32(m_common.offset + field, v); }
    void common_write64(u32 field, u64 v);
    bool in_device_config(u32 offset, u32 width) const
    {
        return m_device.present() && u64(offset) + width <= m_device.length;
    }

    PciFunction* m_function;
    Region m_common;
    Region m_notify;
    Region m_isr;
    Region m_device;
    u32 m_notify_multiplier = 0;
};

} // namespace virtio
