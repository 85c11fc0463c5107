#include "arch/x86_64/mm/ExceptionTable.h"

extern "C" const extable::Entry __extable_start[];
extern "C" const extable::Entry __extable_end[];

namespace extable {

u64 find_fixup(u64 rip)
{
    // A handful of entries: a linear walk is enough.
    for (const Entry* entry = __extable_start; entry < __extable_end; entry++) {
        if (entry->instruction == rip)
            return entry->fixup;
    }
    return 0;
}

} // namespace extable
