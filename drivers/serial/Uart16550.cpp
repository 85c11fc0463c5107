#include "drivers/serial/Uart16550.h"

#include "arch/x86_64/Cpu.h"
#include "kernel/sync/SpinLock.h"

namespace serial {
namespace {

// PC16550D datasheet, register map (offsets from the base port).
constexpr u16 PORT_BASES[PORT_COUNT] = { 0x3f8, 0x2f8, 0x3e8, 0x2e8 }; // COM1..COM4
constexpr u16 COM1 = PORT_BASES[0];
constexpr u16 REG_DATA = 0;        // THR/RBR, or divisor low with DLAB
constexpr u16 REG_IER = 1;         // interrupt enable, or divisor high with DLAB
constexpr u16 REG_FCR = 2;         // FIFO control
constexpr u16 REG_LCR = 3;         // line control
constexpr u16 REG_MCR = 4;         // modem control
constexpr u16 REG_LSR = 5;         // line status
constexpr u16 REG_SCR = 7;         // scratch: holds what was written, if a UART is there
constexpr u8 LCR_8N1 = 0x03;
constexpr u8 LCR_DLAB = 0x80;
constexpr u8 FCR_ENABLE_CLEAR = 0xc7; // enable, clear both FIFOs, 14-byte trigger
constexpr u8 MCR_DTR_RTS_OUT2 = 0x0b;
constexpr u8 LSR_THR_EMPTY = 0x20;
constexpr u16 DIVISOR_115200 = 1;

bool g_ready = false;
bool g_present[PORT_COUNT];
// Keeps one write_raw() contiguous on its port; a leaf like the log's lock.
SpinLock g_raw_locks[PORT_COUNT] = {
    SpinLock(LockRank::Log, "ttyS0"), SpinLock(LockRank::Log, "ttyS1"),
    SpinLock(LockRank::Log, "ttyS2"), SpinLock(LockRank::Log, "ttyS3"),
};

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
    static constexpr u8 PATTERNS[] = { 0x5a, 0xa5 };
    for (u8 pattern : PATTERNS) {
        x86::outb(base + REG_SCR, pattern);
        if (x86::inb(base + REG_SCR) != pattern)
            return false;
    }
    return true;
}

} // namespace

void init()
{
    program(COM1);
    g_present[0] = true;
    g_ready = true;
    for (unsigned i = 1; i < PORT_COUNT; i++) {
        if (answers(PORT_BASES[i])) {
            program(PORT_BASES[i]);
            g_present[i] = true;
        }
    }
}

bool is_ready() { return g_ready; }

bool port_present(unsigned index) { return index < PORT_COUNT && g_present[index]; }

void write_raw(unsigned index, const char* bytes, usize length)
{
    if (!port_present(index))
        return;
    SpinLockGuard guard(g_raw_locks[index]);
    for (usize i = 0; i < length; i++)
        put(PORT_BASES[index], bytes[i]);
}

void write(const char* text, usize length)
{
    for (usize i = 0; i < length; i++) {
        if (text[i] == '\n')
            put(COM1, '\r');
        put(COM1, text[i]);
    }
}

} // namespace serial
