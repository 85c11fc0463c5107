#include "fs/vfs/MappedFile.h"

#include "fs/pagecache/PageCache.h"
#include "fs/pagecache/PageState.h"
#include "fs/vfs/FileApi.h"

namespace vfs {
namespace {

u64 g_live; // atomic

} // namespace

MappedFile::MappedFile(File& file, pagecache::Mapping& mapping) : m_file(*file_get(file)), m_mapping(mapping)
{
    __atomic_fetch_add(&g_live, 1, __ATOMIC_RELAXED);
}

MappedFile::~MappedFile()
{
    (void)close(&m_file);
    __atomic_fetch_sub(&g_live, 1, __ATOMIC_RELAXED);
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

u64 MappedFile::live_count() { return __atomic_load_n(&g_live, __ATOMIC_RELAXED); }

void MappedFile::ref() { __atomic_fetch_add(&m_refcount, 1, __ATOMIC_RELAXED); }

void MappedFile::unref()
{
    if (__atomic_sub_fetch(&m_refcount, 1, __ATOMIC_ACQ_REL) == 0)
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
