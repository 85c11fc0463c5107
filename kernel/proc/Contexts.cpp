// FileTable and FsContext (Process.h): the parts of a process that clone
// can share or copy.
#include "kernel/mm/Heap.h"
#include "kernel/lib/Atomic.h"
#include "kernel/lib/String.h"
#include "kernel/proc/Process.h"
#include "uapi/errno.h"

namespace proc {
namespace {

template <typename T>
Result<T*> make()
{
    void* memory = kzalloc(sizeof(T));
    if (!memory)
        return Error::from_errno(ENOMEM);
    return new (memory) T();
}

template <typename T>
void destroy(T* object)
{
    object->~T();
    kfree(object);
}

} // namespace

Result<FileTable*> FileTable::create() { return make<FileTable>(); }

Result<FileTable*> FileTable::duplicate()
{
    FileTable* copy = TRY(make<FileTable>());
    copy->table.copy_from(table);
    return copy;
}

void FileTable::unref()
{
    if (refcount.sub_fetch(1, MemoryOrder::AcqRel) == 0)
        destroy(this); // ~FdTable closes every descriptor
}

Result<FsContext*> FsContext::create() { return make<FsContext>(); }

Result<FsContext*> FsContext::duplicate()
{
    FsContext* copy = TRY(make<FsContext>());
    State snapshot;
    state.with([&](const State& s) {
        memcpy(snapshot.cwd, s.cwd, sizeof snapshot.cwd);
        snapshot.umask = s.umask;
    });
    copy->state.with([&](State& s) {
        memcpy(s.cwd, snapshot.cwd, sizeof s.cwd);
        s.umask = snapshot.umask;
    });
    return copy;
}

void FsContext::unref()
{
    if (refcount.sub_fetch(1, MemoryOrder::AcqRel) == 0)
        destroy(this);
}

} // namespace proc
