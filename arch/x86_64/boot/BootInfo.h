// What the boot loader told us, copied out of its memory so that memory can be
// reused: physical memory map, command line, modules and the ACPI RSDP.
#pragma once

#include "kernel/lib/CommandLine.h"
#include "kernel/lib/Types.h"

struct MemoryRegion {
    enum class Type : u8 { Usable, Reserved, AcpiReclaimable, AcpiNvs, Bad };
    PhysAddr base;
    u64 length;
    Type type;
};

struct BootModule {
    PhysAddr start;
    PhysAddr end; // exclusive
    char name[64];
};

struct BootInfo {
    static constexpr usize MAX_REGIONS = 128;
    static constexpr usize MAX_MODULES = 16;

    MemoryRegion regions[MAX_REGIONS];
    usize region_count = 0;
    BootModule modules[MAX_MODULES];
    usize module_count = 0;
    CommandLine command_line;
    char boot_loader_name[64] = {};
    // Physical address of the boot information block, and its size, so the
    // page allocator can keep it until everything has been copied.
    PhysAddr info_start = 0;
    PhysAddr info_end = 0;
    // A copy of the RSDP (v1: 20 bytes, v2+: 36 bytes), valid if rsdp_length > 0.
    u8 rsdp[36] = {};
    usize rsdp_length = 0;

    const BootModule* find_module(const char* name) const;
    u64 usable_bytes() const;
};

// Filled once by the architecture's boot code before anything else runs.
BootInfo& boot_info();
