#include "fs/pagecache/PageCache.h"
#include "fs/pagecache/PageIo.h"
#include "fs/pagecache/Readahead.h"
#include "fs/pagecache/Reclaim.h"
#include "arch/x86_64/boot/BootInfo.h"
#include "kernel/log/Log.h"

namespace pagecache {

void init()
{
    const u64 readahead_kb = boot_info().command_line.get_u64("readahead_kb", ReadaheadState::DEFAULT_MAX_BYTES / KiB);
    ReadaheadState::set_default_max_pages(readahead_kb * KiB / PAGE_SIZE);
    if (readahead_kb * KiB != ReadaheadState::DEFAULT_MAX_BYTES)
        log_info("pagecache", "readahead window up to %lu KiB", ReadaheadState::default_max_pages() * PAGE_SIZE / KiB);
    init_page_io();
    init_reclaim();
}

} // namespace pagecache
