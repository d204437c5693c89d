/*
 * li_hindex — a chained hash index over entries that a table keeps in its
 * own list (li_pair's requests, li_state's documents): the index only finds
 * them. An entry embeds a struct li_hlink; the index never allocates or
 * frees entries, only its bucket array.
 *
 * The bucket count is a power of two (hash & (n - 1) picks the bucket) and
 * grows by doubling, from LI_HINDEX_MIN, so that there are at least as many
 * buckets as entries: chains stay short. A key is bytes (an id's JSON text,
 * a URI) that the entry owns and keeps unchanged while it is indexed; keys
 * are unique (a table replaces an entry before it adds one with the same
 * key). Not thread-safe: one owner.
 */
#ifndef LSPTAP_INSPECT_LI_HINDEX_H
#define LSPTAP_INSPECT_LI_HINDEX_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define LI_HINDEX_MIN 64

/* Set by li_hindex_add; the entry's business is only to embed it. */
struct li_hlink {
    struct li_hlink *next; /* the same bucket */
    uint32_t hash;
    const char *key; /* the entry's, klen bytes */
    size_t klen;
};

/* Start from {0}: no buckets until the first li_hindex_reserve. */
struct li_hindex {
    struct li_hlink **bucket;
    size_t n; /* buckets: 0, or a power of two */
};

/* The entry of type `type` whose struct li_hlink member `member` is l. */
#define LI_HENTRY(l, type, member) ((type *)(void *)((char *)(l)-offsetof(type, member)))

/* FNV-1a of p[0..n): the keys are short (ids, URIs). */
static inline uint32_t li_hash(const char *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 16777619u;
    return h;
}

/* Room for one entry more than `count` (the entries indexed now): doubles
 * the buckets when count has reached them, moving every entry. Returns 0,
 * or -ENOMEM with the index unchanged (still usable, with longer chains,
 * once it has buckets). Inline like li_buf_reserve: the pair table
 * reserves once a request. */
int li_hindex_grow(struct li_hindex *ix); /* li_hindex_reserve's growing path */
static inline int li_hindex_reserve(struct li_hindex *ix, size_t count)
{
    return count < ix->n ? 0 : li_hindex_grow(ix);
}

/* Indexes l under key[0..n), which must stay valid and unchanged until l
 * is removed; the index must have buckets (li_hindex_reserve). */
void li_hindex_add(struct li_hindex *ix, struct li_hlink *l, const char *key, size_t n);

/* Removes l, which must be in the index. */
void li_hindex_remove(struct li_hindex *ix, struct li_hlink *l);

/* The link indexed under key[0..n), or NULL. Inline: every request and
 * reply looks its id up. */
static inline struct li_hlink *li_hindex_find(const struct li_hindex *ix, const char *key, size_t n)
{
    if (!ix->n) return NULL;
    uint32_t h = li_hash(key, n);
    for (struct li_hlink *l = ix->bucket[h & (ix->n - 1)]; l; l = l->next)
        if (l->hash == h && l->klen == n && memcmp(l->key, key, n) == 0) return l;
    return NULL;
}

/* Frees the buckets (not the entries); ix is then empty. */
void li_hindex_free(struct li_hindex *ix);

#endif
