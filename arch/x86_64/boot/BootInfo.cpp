#include "arch/x86_64/boot/BootInfo.h"

#include "kernel/lib/String.h"

namespace {
BootInfo g_boot_info;
}

BootInfo& boot_info() { return g_boot_info; }

const BootModule* BootInfo::find_module(const char* name) const
{
    for (usize i = 0; i < module_count; i++) {
        if (strcmp(modules[i].name, name) == 0)
            return &modules[i];
    }
    return nullptr;
}

u64 BootInfo::usable_bytes() const
{
    u64 total = 0;
    for (usize i = 0; i < region_count; i++) {
        if (regions[i].type == MemoryRegion::Type::Usable)
            total += regions[i].length;
    }
    return total;
}
