#include "arch/x86_64/apic/Pic.h"

#include "arch/x86_64/Cpu.h"
#include "kernel/irq/Irq.h"

namespace pic {
namespace {

constexpr u16 MASTER_COMMAND = 0x20;
constexpr u16 MASTER_DATA = 0x21;
constexpr u16 SLAVE_COMMAND = 0xa0;
constexpr u16 SLAVE_DATA = 0xa1;
// Initialization command words, 8259A datasheet "Programming the 8259A".
constexpr u8 ICW1_INIT = 0x10;
constexpr u8 ICW1_ICW4_NEEDED = 0x01;
constexpr u8 ICW3_MASTER_SLAVE_ON_IRQ2 = 0x04;
constexpr u8 ICW3_SLAVE_ID = 0x02;
constexpr u8 ICW4_8086_MODE = 0x01;
constexpr u8 MASK_ALL = 0xff;

} // namespace

void disable()
{
    // Reinitialize with vectors 0x20-0x2f before masking: a spurious IRQ 7
    // or 15 can still be raised by a masked 8259 and must not land on an
    // exception vector.
    x86::outb(MASTER_COMMAND, ICW1_INIT | ICW1_ICW4_NEEDED);
    x86::outb(SLAVE_COMMAND, ICW1_INIT | ICW1_ICW4_NEEDED);
    x86::outb(MASTER_DATA, irq::VECTOR_LEGACY_BASE);
    x86::outb(SLAVE_DATA, irq::VECTOR_LEGACY_BASE + 8);
    x86::outb(MASTER_DATA, ICW3_MASTER_SLAVE_ON_IRQ2);
    x86::outb(SLAVE_DATA, ICW3_SLAVE_ID);
    x86::outb(MASTER_DATA, ICW4_8086_MODE);
    x86::outb(SLAVE_DATA, ICW4_8086_MODE);
    x86::outb(MASTER_DATA, MASK_ALL);
    x86::outb(SLAVE_DATA, MASK_ALL);
}

} // namespace pic
