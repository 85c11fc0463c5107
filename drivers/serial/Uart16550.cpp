#include "drivers/serial/Uart16550.h"

#include "arch/x86_64/Cpu.h"
#include "kernel/log/Console.h"
#include "kernel/sync/SpinLock.h"

namespace serial {
namespace {

// PC16550D datasheet, register map (offsets from the base port).
constexpr u16 PORT_BASES[PORT_COUNT] = {0x3f8, 0x2f8, 0x3e8, 0x2e8}; // COM1..COM4
constexpr const char* PORT_NAMES[PORT_COUNT] = {"ttyS0", "ttyS1", "ttyS2", "ttyS3"};
constexpr u16 REG_DATA = 0; // THR/RBR, or divisor low with DLAB
constexpr u16 REG_IER = 1;  // interrupt enable, or divisor high with DLAB
constexpr u16 REG_FCR = 2;  // FIFO control
constexpr u16 REG_LCR = 3;  // line control
constexpr u16 REG_MCR = 4;  // modem control
constexpr u16 REG_LSR = 5;  // line status
constexpr u16 REG_SCR = 7;  // scratch: holds what was written, if a UART is there
constexpr u8 LCR_8N1 = 0x03;
constexpr u8 LCR_DLAB = 0x80;
constexpr u8 FCR_ENABLE_CLEAR = 0xc7; // enable, clear both FIFOs, 14-byte trigger
constexpr u8 MCR_DTR_RTS_OUT2 = 0x0b;
constexpr u8 LSR_THR_EMPTY = 0x20;
constexpr u16 DIVISOR_115200 = 1;

struct Port {
    u16 base;
    bool present;
    // One write's bytes stay together on the line.
    SpinLock lock{LockRank::Console, "uart"};
};

Port g_ports[PORT_COUNT];

void put(u16 base, char c)
{
    while (!(x86::inb(base + REG_LSR) & LSR_THR_EMPTY))
        x86::pause();
    x86::outb(base + REG_DATA, static_cast<u8>(c));
}

void program(u16 base)
{
    x86::outb(base + REG_IER, 0);
    x86::outb(base + REG_LCR, LCR_DLAB);
    x86::outb(base + REG_DATA, DIVISOR_115200 & 0xff);
    x86::outb(base + REG_IER, DIVISOR_115200 >> 8);
    x86::outb(base + REG_LCR, LCR_8N1);
    x86::outb(base + REG_FCR, FCR_ENABLE_CLEAR);
    x86::outb(base + REG_MCR, MCR_DTR_RTS_OUT2);
}

// An absent port reads back 0xff from every register.
bool answers(u16 base)
{
    static constexpr u8 PATTERNS[] = {0x5a, 0xa5};
    for (u8 pattern : PATTERNS) {
        x86::outb(base + REG_SCR, pattern);
        if (x86::inb(base + REG_SCR) != pattern)
            return false;
    }
    return true;
}

void write_port(void* context, const char* bytes, usize length)
{
    Port& port = *static_cast<Port*>(context);
    SpinLockGuard guard(port.lock);
    for (usize i = 0; i < length; i++)
        put(port.base, bytes[i]);
}

} // namespace

void init()
{
    for (unsigned i = 0; i < PORT_COUNT; i++) {
        Port& port = g_ports[i];
        port.base = PORT_BASES[i];
        port.present = i == 0 || answers(port.base);
        if (!port.present)
            continue;
        program(port.base);
        console::register_console(PORT_NAMES[i], write_port, &port);
    }
}

bool port_present(unsigned index) { return index < PORT_COUNT && g_ports[index].present; }

} // namespace serial
