/*
 * li_list — the doubly linked lists threaded through their entries: each
 * entry has `prev` and `next` members, the list is two lvalues the caller
 * names (its first and last entry, NULL when empty). The macros evaluate
 * their arguments more than once: pass plain lvalues. No allocation; an
 * entry is in one such list at a time through one pair of members.
 */
#ifndef LSPTAP_INSPECT_LI_LIST_H
#define LSPTAP_INSPECT_LI_LIST_H

/* Puts e (not in the list) after the last entry. */
#define LI_LIST_APPEND(first, last, e)                                                             \
    do {                                                                                           \
        (e)->next = NULL;                                                                          \
        (e)->prev = (last);                                                                        \
        if (last)                                                                                  \
            (last)->next = (e);                                                                    \
        else                                                                                       \
            (first) = (e);                                                                         \
        (last) = (e);                                                                              \
    } while (0)

/* Takes e (in the list) out; e's own links are left as they were. */
#define LI_LIST_UNLINK(first, last, e)                                                             \
    do {                                                                                           \
        if ((e)->prev)                                                                             \
            (e)->prev->next = (e)->next;                                                           \
        else                                                                                       \
            (first) = (e)->next;                                                                   \
        if ((e)->next)                                                                             \
            (e)->next->prev = (e)->prev;                                                           \
        else                                                                                       \
            (last) = (e)->prev;                                                                    \
    } while (0)

#endif
