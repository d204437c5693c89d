#include "inspect/li_pair.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "inspect/li_list.h"

struct li_pair_entry {
    struct li_hlink link;              /* in the table's index, by key */
    struct li_pair_entry *prev, *next; /* age list, oldest first */
    uint64_t t_us;
    int cancelled;
    size_t klen, mlen;
    char text[]; /* key, then method */
};

void li_pair_init(struct li_pair_table *t, size_t max)
{
    memset(t, 0, sizeof *t);
    t->max = max ? max : 1;
}

void li_pair_free(struct li_pair_table *t)
{
    struct li_pair_entry *e = t->oldest;
    while (e) {
        struct li_pair_entry *n = e->next;
        free(e);
        e = n;
    }
    li_hindex_free(&t->index);
    memset(t, 0, sizeof *t);
}

static struct li_pair_entry *find(const struct li_pair_table *t, const char *key, size_t klen)
{
    if (!t->count || klen > LI_PAIR_MAX_KEY) return NULL;
    struct li_hlink *l = li_hindex_find(&t->index, key, klen);
    return l ? LI_HENTRY(l, struct li_pair_entry, link) : NULL;
}

static void unlink_entry(struct li_pair_table *t, struct li_pair_entry *e)
{
    li_hindex_remove(&t->index, &e->link);
    LI_LIST_UNLINK(t->oldest, t->newest, e);
    t->count--;
}

int li_pair_add(struct li_pair_table *t, const char *key, size_t klen, const char *method,
                size_t mlen, uint64_t t_us)
{
    if (klen > LI_PAIR_MAX_KEY) return 1;
    if (mlen > LI_PAIR_MAX_METHOD) mlen = 0;
    /* Chains stay short while the buckets can grow; a full old index still
     * works when they cannot. */
    if (li_hindex_reserve(&t->index, t->count) < 0 && !t->index.n) return -ENOMEM;
    struct li_pair_entry *e = malloc(sizeof *e + klen + mlen);
    if (!e) return -ENOMEM;
    struct li_pair_entry *old = find(t, key, klen);
    if (!old && t->count >= t->max) {
        old = t->oldest;
        assert(old); /* count >= max >= 1 */
        t->evicted++;
    }
    if (old) {
        unlink_entry(t, old);
        free(old);
    }
    e->t_us = t_us;
    e->cancelled = 0;
    e->klen = klen;
    e->mlen = mlen;
    memcpy(e->text, key, klen);
    if (mlen) memcpy(e->text + klen, method, mlen);
    li_hindex_add(&t->index, &e->link, e->text, klen);
    LI_LIST_APPEND(t->oldest, t->newest, e);
    t->count++;
    assert(t->count <= t->max); /* the table's cap: a full one evicted above */
    return 0;
}

int li_pair_take(struct li_pair_table *t, const char *key, size_t klen, struct li_pair_hit *hit)
{
    struct li_pair_entry *e = find(t, key, klen);
    if (!e) return -1;
    hit->t_us = e->t_us;
    hit->cancelled = e->cancelled;
    hit->method_len = e->mlen;
    memcpy(hit->method, e->text + e->klen, e->mlen);
    unlink_entry(t, e);
    free(e);
    return 0;
}

int li_pair_cancel(struct li_pair_table *t, const char *key, size_t klen)
{
    struct li_pair_entry *e = find(t, key, klen);
    if (!e) return -1;
    if (e->cancelled) return 1;
    e->cancelled = 1;
    return 0;
}

void li_pair_each(const struct li_pair_table *t, li_pair_visit_fn fn, void *ud)
{
    for (const struct li_pair_entry *e = t->oldest; e; e = e->next)
        if (fn(ud, e->text, e->klen, e->text + e->klen, e->mlen, e->t_us, e->cancelled)) break;
}
