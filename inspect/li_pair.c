#include "inspect/li_pair.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "inspect/li_list.h"

struct li_pair_entry {
    struct li_pair_entry *hnext;       /* bucket chain */
    struct li_pair_entry *prev, *next; /* age list, oldest first */
    uint64_t t_us;
    uint32_t hash;
    int cancelled;
    size_t klen, mlen;
    char text[]; /* key, then method */
};

#define MIN_BUCKETS 64

static uint32_t hash_of(const char *p, size_t n)
{
    uint32_t h = 2166136261u; /* FNV-1a: ids are short, this is enough */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 16777619u;
    return h;
}

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
    free(t->buckets);
    memset(t, 0, sizeof *t);
}

static struct li_pair_entry **slot_of(const struct li_pair_table *t, const char *key, size_t klen,
                                      uint32_t h)
{
    assert(t->nbuckets && (t->nbuckets & (t->nbuckets - 1)) == 0); /* masks as a modulo */
    struct li_pair_entry **pp = &t->buckets[h & (t->nbuckets - 1)];
    while (*pp && !((*pp)->hash == h && (*pp)->klen == klen && memcmp((*pp)->text, key, klen) == 0))
        pp = &(*pp)->hnext;
    return pp;
}

static void unlink_entry(struct li_pair_table *t, struct li_pair_entry *e)
{
    struct li_pair_entry **pp = &t->buckets[e->hash & (t->nbuckets - 1)];
    while (*pp != e)
        pp = &(*pp)->hnext;
    *pp = e->hnext;
    LI_LIST_UNLINK(t->oldest, t->newest, e);
    t->count--;
}

/* Keeps chains short: at most one entry per bucket on average. */
static int grow(struct li_pair_table *t)
{
    if (t->buckets && t->count < t->nbuckets) return 0;
    size_t n = t->nbuckets ? t->nbuckets * 2 : MIN_BUCKETS;
    struct li_pair_entry **b = calloc(n, sizeof *b);
    if (!b) return t->buckets ? 0 : -ENOMEM; /* a full old table still works */
    for (struct li_pair_entry *e = t->oldest; e; e = e->next) {
        e->hnext = b[e->hash & (n - 1)];
        b[e->hash & (n - 1)] = e;
    }
    free(t->buckets);
    t->buckets = b;
    t->nbuckets = n;
    return 0;
}

int li_pair_add(struct li_pair_table *t, const char *key, size_t klen, const char *method,
                size_t mlen, uint64_t t_us)
{
    if (klen > LI_PAIR_MAX_KEY) return 1;
    if (mlen > LI_PAIR_MAX_METHOD) mlen = 0;
    if (grow(t) < 0) return -ENOMEM;
    struct li_pair_entry *e = malloc(sizeof *e + klen + mlen);
    if (!e) return -ENOMEM;
    uint32_t h = hash_of(key, klen);
    struct li_pair_entry **pp = slot_of(t, key, klen, h);
    if (*pp) {
        struct li_pair_entry *old = *pp;
        unlink_entry(t, old);
        free(old);
    } else if (t->count >= t->max) {
        struct li_pair_entry *old = t->oldest;
        assert(old); /* count >= max >= 1 */
        unlink_entry(t, old);
        free(old);
        t->evicted++;
    }
    e->t_us = t_us;
    e->hash = h;
    e->cancelled = 0;
    e->klen = klen;
    e->mlen = mlen;
    memcpy(e->text, key, klen);
    if (mlen) memcpy(e->text + klen, method, mlen);
    pp = &t->buckets[h & (t->nbuckets - 1)];
    e->hnext = *pp;
    *pp = e;
    LI_LIST_APPEND(t->oldest, t->newest, e);
    t->count++;
    assert(t->count <= t->max); /* the table's cap: a full one evicted above */
    return 0;
}

static struct li_pair_entry *find(const struct li_pair_table *t, const char *key, size_t klen)
{
    if (!t->count || klen > LI_PAIR_MAX_KEY) return NULL;
    return *slot_of(t, key, klen, hash_of(key, klen));
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
