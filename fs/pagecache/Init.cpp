#include "fs/pagecache/PageCache.h"
#include "fs/pagecache/PageIo.h"
#include "fs/pagecache/Reclaim.h"

namespace pagecache {

void init()
{
    init_page_io();
    init_reclaim();
}

} // namespace pagecache
