// Multiboot2 boot information parsing (Multiboot2 specification §3.6).
#pragma once

#include "arch/x86_64/boot/BootInfo.h"

namespace multiboot2 {

constexpr u32 BOOTLOADER_MAGIC = 0x36d76289;

// Parses the information block at `info_phys` into `out`. Returns false if the
// magic number is wrong (we were not loaded by a Multiboot2 loader).
bool parse(u32 magic, PhysAddr info_phys, BootInfo& out);

} // namespace multiboot2
