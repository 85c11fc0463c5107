// The little C++ runtime a freestanding kernel needs: global constructors,
// pure-virtual calls, and the guard functions for function-local statics.
#include "kernel/debug/Panic.h"
#include "kernel/lib/Types.h"

using Constructor = void (*)();
extern Constructor __init_array_start[];
extern Constructor __init_array_end[];

extern "C" void run_global_constructors()
{
    for (Constructor* c = __init_array_start; c != __init_array_end; c++)
        (*c)();
}

extern "C" void __cxa_pure_virtual() { panic("pure virtual function called"); }

extern "C" int __cxa_atexit(void (*)(void*), void*, void*) { return 0; }

void* __dso_handle = nullptr;
