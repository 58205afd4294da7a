/*
 * util/list.h - an intrusive doubly-linked list.
 *
 * Objects embed a `struct list_node` and are recovered with list_entry().  The
 * head is a sentinel node; an empty list points to itself.  No allocation, so a
 * list operation never fails.
 */
#ifndef PCIVIRT_UTIL_LIST_H
#define PCIVIRT_UTIL_LIST_H

#include <stdbool.h>
#include <stddef.h>

struct list_node {
    struct list_node *next;
    struct list_node *prev;
};

#define LIST_INIT(name)                                                                                                \
    {                                                                                                                  \
        &(name), &(name)                                                                                               \
    }

#define list_entry(node, type, member) ((type *)((char *)(node)-offsetof(type, member)))

#define list_for_each_safe(pos, tmp, head)                                                                             \
    for ((pos) = (head)->next, (tmp) = (pos)->next; (pos) != (head); (pos) = (tmp), (tmp) = (pos)->next)

#define list_for_each(pos, head) for ((pos) = (head)->next; (pos) != (head); (pos) = (pos)->next)

static inline void
list_init(struct list_node *head)
{
    head->next = head;
    head->prev = head;
}

static inline bool
list_empty(const struct list_node *head)
{
    return head->next == head;
}

/* A node that is on no list (after list_del_init or list_init) points to itself. */
static inline bool
list_linked(const struct list_node *node)
{
    return node->next != node && node->next != NULL;
}

static inline void
list_add_tail(struct list_node *head, struct list_node *node)
{
    node->prev = head->prev;
    node->next = head;
    head->prev->next = node;
    head->prev = node;
}

static inline void
list_add_head(struct list_node *head, struct list_node *node)
{
    node->next = head->next;
    node->prev = head;
    head->next->prev = node;
    head->next = node;
}

static inline void
list_del_init(struct list_node *node)
{
    node->prev->next = node->next;
    node->next->prev = node->prev;
    node->next = node;
    node->prev = node;
}

static inline struct list_node *
list_pop_head(struct list_node *head)
{
    struct list_node *n = head->next;

    if (n == head) {
        return NULL;
    }
    list_del_init(n);
    return n;
}

static inline size_t
list_length(const struct list_node *head)
{
    size_t n = 0;

    for (const struct list_node *p = head->next; p != head; p = p->next) {
        n++;
    }
    return n;
}

#endif /* PCIVIRT_UTIL_LIST_H */
