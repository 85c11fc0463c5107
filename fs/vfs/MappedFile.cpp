#include "fs/vfs/MappedFile.h"

#include "fs/pagecache/PageCache.h"
#include "fs/pagecache/PageState.h"
#include "fs/vfs/FileApi.h"
#include "kernel/lib/Atomic.h"

namespace vfs {
namespace {

Atomic<u64> g_live;

} // namespace

MappedFile::MappedFile(File& file, pagecache::Mapping& mapping) : m_file(*file_get(file)), m_mapping(mapping)
{
    g_live.fetch_add(1, MemoryOrder::Relaxed);
}

MappedFile::~MappedFile()
{
    (void)close(&m_file);
    g_live.fetch_sub(1, MemoryOrder::Relaxed);
}

Result<MappedFile*> MappedFile::create(File& file)
{
    if (!file.inode || !file.inode->mapping)
        return Error::from_errno(ENODEV);
    auto* backing = new MappedFile(file, *file.inode->mapping);
    if (!backing)
        return Error::from_errno(ENOMEM);
    return backing;
}

u64 MappedFile::live_count() { return g_live.load(MemoryOrder::Relaxed); }

void MappedFile::ref() { m_refcount.fetch_add(1, MemoryOrder::Relaxed); }

void MappedFile::unref()
{
    if (m_refcount.sub_fetch(1, MemoryOrder::AcqRel) == 0)
        delete this;
}

u64 MappedFile::size_bytes() const { return m_mapping.size_bytes(); }

Result<Page*> MappedFile::get_page(u64 index, bool)
{
    // Up to date and referenced: the reference becomes the page-table entry's.
    return pagecache::read_cache_page(m_mapping, index);
}

void MappedFile::set_page_dirty(Page& page)
{
    // A page truncated away meanwhile has left the file: nothing to write.
    if (page.mapping == &m_mapping && pagecache::page_test(page, PAGE_UPTODATE))
        m_mapping.set_page_dirty(page);
}

bool MappedFile::is_resident(u64 index)
{
    Page* page = m_mapping.find_get_page(index);
    if (!page)
        return false;
    pagecache::put_page(*page);
    return true;
}

Result<void> MappedFile::sync_range(u64, u64) { return fdatasync(m_file); }

void MappedFile::will_need(u64 index, u64 count)
{
    u64 pages = m_mapping.page_count();
    if (index >= pages)
        return;
    pagecache::readahead(m_mapping, index, min(count, pages - index));
}

} // namespace vfs
