// The steps of mm::init, in order (internal to the memory manager).
#pragma once

struct BootInfo;

namespace mm {

// Descriptor array and buddy zones from the memory map (uses the boot page
// tables' direct map of the first 4 GiB).
void init_page_allocator(const BootInfo& info);
// The kmalloc size-class caches.
void init_heap();

} // namespace mm
