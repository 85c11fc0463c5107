#include "drivers/serial/Uart16550.h"

#include "arch/x86_64/Cpu.h"

namespace serial {
namespace {

// PC16550D datasheet, register map (offsets from the base port).
constexpr u16 COM1 = 0x3f8;
constexpr u16 REG_DATA = 0;        // THR/RBR, or divisor low with DLAB
constexpr u16 REG_IER = 1;         // interrupt enable, or divisor high with DLAB
constexpr u16 REG_FCR = 2;         // FIFO control
constexpr u16 REG_LCR = 3;         // line control
constexpr u16 REG_MCR = 4;         // modem control
constexpr u16 REG_LSR = 5;         // line status
constexpr u8 LCR_8N1 = 0x03;
constexpr u8 LCR_DLAB = 0x80;
constexpr u8 FCR_ENABLE_CLEAR = 0xc7; // enable, clear both FIFOs, 14-byte trigger
constexpr u8 MCR_DTR_RTS_OUT2 = 0x0b;
constexpr u8 LSR_THR_EMPTY = 0x20;
constexpr u16 DIVISOR_115200 = 1;

bool g_ready = false;

void put(char c)
{
    while (!(x86::inb(COM1 + REG_LSR) & LSR_THR_EMPTY))
        x86::pause();
    x86::outb(COM1 + REG_DATA, static_cast<u8>(c));
}

} // namespace

void init()
{
    x86::outb(COM1 + REG_IER, 0);
    x86::outb(COM1 + REG_LCR, LCR_DLAB);
    x86::outb(COM1 + REG_DATA, DIVISOR_115200 & 0xff);
    x86::outb(COM1 + REG_IER, DIVISOR_115200 >> 8);
    x86::outb(COM1 + REG_LCR, LCR_8N1);
    x86::outb(COM1 + REG_FCR, FCR_ENABLE_CLEAR);
    x86::outb(COM1 + REG_MCR, MCR_DTR_RTS_OUT2);
    g_ready = true;
}

bool is_ready() { return g_ready; }

void write(const char* text, usize length)
{
    for (usize i = 0; i < length; i++) {
        if (text[i] == '\n')
            put('\r');
        put(text[i]);
    }
}

} // namespace serial
