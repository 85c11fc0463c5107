// MappedFile: the mm::VmBacking of a regular file or block device mapped with
// mmap(2): its pages are the file's page-cache pages, so MAP_SHARED mappings,
// read() and write() all see the same bytes (Linux filemap_fault). It holds
// a reference on the open File, so the inode and its page cache outlive
// close() for as long as a VMA maps them.
#pragma once

#include "fs/vfs/Vfs.h"
#include "kernel/lib/Atomic.h"
#include "kernel/mm/VmBacking.h"

namespace vfs {

class MappedFile final : public mm::VmBacking {
public:
    // One reference for the caller; ENODEV when the file has no page cache.
    static Result<MappedFile*> create(File& file);

    void ref() override;
    void unref() override;
    u64 size_bytes() const override;
    Result<Page*> get_page(u64 index, bool for_write) override;
    void set_page_dirty(Page& page) override;
    bool is_resident(u64 index) override;
    Result<void> sync_range(u64 first_index, u64 last_index) override;
    void will_need(u64 index, u64 count) override;

    static u64 live_count();

private:
    MappedFile(File& file, pagecache::Mapping& mapping);
    ~MappedFile();

    File& m_file;
    pagecache::Mapping& m_mapping;
    Atomic<i32> m_refcount{1};
};

} // namespace vfs
