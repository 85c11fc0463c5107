// Doubly linked intrusive list: the link lives inside the object, so linking
// and unlinking never allocate (requests on queues, waiters, pages on LRUs).
//
//   struct Request { ListNode queue_node; ... };
//   IntrusiveList<Request, &Request::queue_node> pending;
#pragma once

#include "kernel/lib/Types.h"

struct ListNode {
    ListNode* prev = nullptr;
    ListNode* next = nullptr;

    bool is_linked() const { return next != nullptr; }
};

template <typename T, ListNode T::*Member>
class IntrusiveList {
public:
    IntrusiveList() { m_head.prev = m_head.next = &m_head; }
    IntrusiveList(const IntrusiveList&) = delete;
    IntrusiveList& operator=(const IntrusiveList&) = delete;

    bool is_empty() const { return m_head.next == &m_head; }

    void push_back(T& item) { insert_before(&m_head, node_of(item)); }
    void push_front(T& item) { insert_before(m_head.next, node_of(item)); }

    static void remove(T& item)
    {
        ListNode* node = node_of(item);
        node->prev->next = node->next;
        node->next->prev = node->prev;
        node->prev = node->next = nullptr;
    }

    T* first() const { return is_empty() ? nullptr : owner_of(m_head.next); }
    T* last() const { return is_empty() ? nullptr : owner_of(m_head.prev); }

    T* pop_front()
    {
        T* item = first();
        if (item)
            remove(*item);
        return item;
    }

    T* pop_back()
    {
        T* item = last();
        if (item)
            remove(*item);
        return item;
    }

    usize size_slow() const
    {
        usize n = 0;
        for (ListNode* node = m_head.next; node != &m_head; node = node->next)
            n++;
        return n;
    }

    // Move every element of `other` to the end of this list, in O(1).
    void splice_back(IntrusiveList& other)
    {
        if (other.is_empty())
            return;
        ListNode* first = other.m_head.next;
        ListNode* last = other.m_head.prev;
        first->prev = m_head.prev;
        m_head.prev->next = first;
        last->next = &m_head;
        m_head.prev = last;
        other.m_head.prev = other.m_head.next = &other.m_head;
    }

    class Iterator {
    public:
        Iterator(ListNode* node, const ListNode* head) : m_node(node), m_head(head)
        {
            m_next = node->next;
        }
        T& operator*() const { return *owner_of(m_node); }
        T* operator->() const { return owner_of(m_node); }
        // Advancing uses the successor saved before the body ran, so the body
        // may unlink the current element.
        Iterator& operator++()
        {
            m_node = m_next;
            m_next = m_node->next;
            return *this;
        }
        bool operator!=(const Iterator& other) const { return m_node != other.m_node; }

    private:
        ListNode* m_node;
        ListNode* m_next;
        const ListNode* m_head;
    };

    Iterator begin() { return Iterator(m_head.next, &m_head); }
    Iterator end() { return Iterator(&m_head, &m_head); }

    static ListNode* node_of(T& item) { return &(item.*Member); }
    static T* owner_of(ListNode* node)
    {
        // offsetof for a pointer-to-member: the distance from a T to its ListNode,
        // measured on a fake, suitably aligned address (never dereferenced).
        constexpr uptr fake = 4096;
        const uptr offset = reinterpret_cast<uptr>(&(reinterpret_cast<T*>(fake)->*Member)) - fake;
        return reinterpret_cast<T*>(reinterpret_cast<uptr>(node) - offset);
    }

private:
    static void insert_before(ListNode* position, ListNode* node)
    {
        node->next = position;
        node->prev = position->prev;
        position->prev->next = node;
        position->prev = node;
    }

    ListNode m_head;
};
