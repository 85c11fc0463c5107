#include "kernel/log/Console.h"

#include "kernel/lib/Atomic.h"
#include "kernel/lib/String.h"

namespace console {
namespace {

struct Slot {
    Console console;
    Atomic<bool> ready; // set (release) once `console` is filled in
};

Slot g_slots[MAX_CONSOLES];
Atomic<usize> g_claimed;

} // namespace

void register_console(const char* name, WriteFunction write, void* context)
{
    if (find(StringView(name)))
        return;
    const usize index = g_claimed.fetch_add(1, MemoryOrder::Relaxed);
    if (index >= MAX_CONSOLES)
        return;
    g_slots[index].console = Console{name, write, context};
    // Readers (the log, possibly on another CPU) see the slot only whole.
    g_slots[index].ready.store(true, MemoryOrder::Release);
}

usize count() { return min(g_claimed.load(MemoryOrder::Acquire), MAX_CONSOLES); }

const Console* at(usize index)
{
    if (index >= MAX_CONSOLES || !g_slots[index].ready.load(MemoryOrder::Acquire))
        return nullptr;
    return &g_slots[index].console;
}

const Console* find(StringView name)
{
    for (usize i = 0; i < count(); i++) {
        const Console* console = at(i);
        if (console && name == StringView(console->name))
            return console;
    }
    return nullptr;
}

const Console* primary() { return at(0); }

void write_text(const Console& console, const char* text, usize length)
{
    usize start = 0;
    for (usize i = 0; i < length; i++) {
        if (text[i] != '\n')
            continue;
        if (i > start)
            console.write(console.context, text + start, i - start);
        console.write(console.context, "\r\n", 2);
        start = i + 1;
    }
    if (length > start)
        console.write(console.context, text + start, length - start);
}

} // namespace console
