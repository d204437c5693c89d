#include "inspect/li_hindex.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>

int li_hindex_grow(struct li_hindex *ix)
{
    size_t n = ix->n ? ix->n * 2 : LI_HINDEX_MIN;
    struct li_hlink **b = calloc(n, sizeof *b);
    if (!b) return -ENOMEM;
    for (size_t i = 0; i < ix->n; i++) {
        for (struct li_hlink *l = ix->bucket[i], *next; l; l = next) {
            next = l->next;
            l->next = b[l->hash & (n - 1)];
            b[l->hash & (n - 1)] = l;
        }
    }
    free(ix->bucket);
    ix->bucket = b;
    ix->n = n;
    return 0;
}

void li_hindex_add(struct li_hindex *ix, struct li_hlink *l, const char *key, size_t n)
{
    assert(ix->n && (ix->n & (ix->n - 1)) == 0); /* masks as a modulo */
    l->hash = li_hash(key, n);
    l->key = key;
    l->klen = n;
    struct li_hlink **pp = &ix->bucket[l->hash & (ix->n - 1)];
    l->next = *pp;
    *pp = l;
}

void li_hindex_remove(struct li_hindex *ix, struct li_hlink *l)
{
    struct li_hlink **pp = &ix->bucket[l->hash & (ix->n - 1)];
    while (*pp != l) {
        assert(*pp); /* l is in its bucket */
        pp = &(*pp)->next;
    }
    *pp = l->next;
}

void li_hindex_free(struct li_hindex *ix)
{
    free(ix->bucket);
    ix->bucket = NULL;
    ix->n = 0;
}
