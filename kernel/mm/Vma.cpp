// VmaList: a sorted intrusive list. Processes have tens of VMAs, so a linear
// walk is cheap next to a fault; the list keeps the code small and
// host-testable. (A tree can replace it behind the same interface.)
#include "kernel/mm/Vma.h"

namespace mm {

Vma* VmaList::find(uptr address)
{
    Vma* vma = find_first_ending_after(address);
    return vma && vma->start <= address ? vma : nullptr;
}

Vma* VmaList::find_first_ending_after(uptr address)
{
    for (Vma& vma : m_list) {
        if (vma.end > address)
            return &vma;
    }
    return nullptr;
}

Vma* VmaList::next(Vma& vma)
{
    return &vma == m_list.last() ? nullptr : List::owner_of(vma.node.next);
}

Vma* VmaList::previous(Vma& vma)
{
    return &vma == m_list.first() ? nullptr : List::owner_of(vma.node.prev);
}

bool VmaList::is_free(uptr start, uptr end)
{
    Vma* vma = find_first_ending_after(start);
    return !vma || vma->start >= end;
}

Result<uptr> VmaList::find_free_range(usize length, uptr low, uptr high)
{
    if (length == 0 || high < low || high - low < length)
        return Error::from_errno(ENOMEM);
    // Walk the gaps from the top: the gap above the last VMA, then between
    // each VMA and its predecessor.
    uptr gap_end = high;
    for (Vma* vma = m_list.last(); vma; vma = previous(*vma)) {
        if (vma->end <= gap_end) {
            uptr gap_start = max(vma->end, low);
            if (gap_end >= gap_start && gap_end - gap_start >= length)
                return gap_end - length;
        }
        gap_end = min(gap_end, vma->start);
        if (gap_end <= low)
            return Error::from_errno(ENOMEM);
    }
    if (gap_end >= low && gap_end - low >= length)
        return gap_end - length;
    return Error::from_errno(ENOMEM);
}

void VmaList::insert(Vma& vma)
{
    m_count++;
    for (Vma& other : m_list) {
        if (other.start > vma.start) {
            // Insert before `other`: link between other.prev and other.
            ListNode* position = &other.node;
            vma.node.next = position;
            vma.node.prev = position->prev;
            position->prev->next = &vma.node;
            position->prev = &vma.node;
            return;
        }
    }
    m_list.push_back(vma);
}

void VmaList::remove(Vma& vma)
{
    m_count--;
    List::remove(vma);
}

Result<Vma*> VmaList::split(Vma& vma, uptr address)
{
    Vma* high = allocate_vma();
    if (!high)
        return Error::from_errno(ENOMEM);
    high->start = address;
    high->end = vma.end;
    high->flags = vma.flags;
    high->backing = vma.backing;
    high->offset = vma.offset + (address - vma.start);
    if (high->backing)
        high->backing->ref();
    vma.end = address;
    // Directly after `vma`.
    ListNode* position = vma.node.next;
    high->node.next = position;
    high->node.prev = &vma.node;
    position->prev = &high->node;
    vma.node.next = &high->node;
    m_count++;
    return high;
}

Result<void> VmaList::split_around(uptr start, uptr end)
{
    if (Vma* vma = find(start); vma && vma->start < start)
        TRY(split(*vma, start));
    if (Vma* vma = find(end); vma && vma->start < end)
        TRY(split(*vma, end));
    return {};
}

bool VmaList::can_merge(const Vma& low, const Vma& high)
{
    return low.end == high.start && low.flags == high.flags && low.backing == high.backing &&
           (low.backing == nullptr || low.offset + low.size() == high.offset);
}

Vma* VmaList::merge_neighbours(Vma& vma)
{
    Vma* result = &vma;
    if (Vma* before = previous(vma); before && can_merge(*before, vma)) {
        before->end = vma.end;
        remove(vma);
        if (vma.backing)
            vma.backing->unref();
        free_vma(&vma);
        result = before;
    }
    if (Vma* after = next(*result); after && can_merge(*result, *after)) {
        result->end = after->end;
        remove(*after);
        if (after->backing)
            after->backing->unref();
        free_vma(after);
    }
    return result;
}

bool VmaList::check()
{
    uptr previous_end = 0;
    usize n = 0;
    for (Vma& vma : m_list) {
        if (vma.start >= vma.end || !is_aligned(vma.start, uptr(PAGE_SIZE)) || !is_aligned(vma.end, uptr(PAGE_SIZE)))
            return false;
        if (vma.start < previous_end || vma.end > USER_END)
            return false;
        previous_end = vma.end;
        n++;
    }
    return n == m_count;
}

} // namespace mm
