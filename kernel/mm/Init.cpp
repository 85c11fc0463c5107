// mm::init: the memory manager's boot sequence.
#include "arch/x86_64/mm/Paging.h"
#include "arch/x86_64/boot/BootInfo.h"
#include "kernel/log/Log.h"
#include "kernel/mm/Boot.h"
#include "kernel/mm/PageAllocator.h"

namespace mm {

void init(const BootInfo& info)
{
    init_page_allocator(info);
    init_kernel_page_table(info);
    init_heap();

    PageCounters counters = page_counters();
    log_info("mm", "memory: %lu MiB total, %lu MiB free, %lu KiB reserved", (counters.total * PAGE_SIZE) / MiB,
             (counters.free * PAGE_SIZE) / MiB, (counters.reserved * PAGE_SIZE) / KiB);
}

} // namespace mm
