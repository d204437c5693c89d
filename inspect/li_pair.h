/*
 * li_pair — the requests of one direction still waiting for their reply.
 *
 * A table maps a request's id (its JSON text: 1 and "1" are different keys)
 * to when it was seen, its method and whether it was cancelled. It holds at
 * most `max` entries: adding to a full table evicts the oldest entry and
 * counts it. Entries are owned by the table; li_pair_take copies what the
 * caller needs and frees the entry.
 *
 * Ids longer than LI_PAIR_MAX_KEY bytes are not tracked (their replies are
 * then unmatched); method texts longer than LI_PAIR_MAX_METHOD are not kept.
 */
#ifndef LSPTAP_INSPECT_LI_PAIR_H
#define LSPTAP_INSPECT_LI_PAIR_H

#include <stddef.h>
#include <stdint.h>

#include "inspect/li_hindex.h"

#define LI_PAIR_MAX_KEY 256
#define LI_PAIR_MAX_METHOD 256

struct li_pair_entry;

struct li_pair_table {
    struct li_hindex index; /* by key; grown with count */
    size_t count;
    size_t max;
    struct li_pair_entry *oldest, *newest; /* age list */
    uint64_t evicted;
};

/* What a request left behind, copied out of the table. */
struct li_pair_hit {
    uint64_t t_us;
    int cancelled;
    size_t method_len;               /* 0 when the method is unknown */
    char method[LI_PAIR_MAX_METHOD]; /* the method's JSON string, quotes included */
};

void li_pair_init(struct li_pair_table *t, size_t max);
void li_pair_free(struct li_pair_table *t);

/* Adds a request. A key already present is replaced (a peer that reuses a
 * pending id is answered for the latest one). Returns 0, 1 when the key is
 * too long to track, or -ENOMEM (the table is unchanged). */
int li_pair_add(struct li_pair_table *t, const char *key, size_t klen, const char *method,
                size_t mlen, uint64_t t_us);

/* Removes the entry for key and copies it to *hit. Returns 0 or -1 (absent). */
int li_pair_take(struct li_pair_table *t, const char *key, size_t klen, struct li_pair_hit *hit);

/* Marks the entry for key cancelled. Returns 0 when it was newly marked, 1
 * when it already was, -1 when absent. */
int li_pair_cancel(struct li_pair_table *t, const char *key, size_t klen);

/* Visits entries oldest first until fn returns nonzero. */
typedef int (*li_pair_visit_fn)(void *ud, const char *key, size_t klen, const char *method,
                                size_t mlen, uint64_t t_us, int cancelled);
void li_pair_each(const struct li_pair_table *t, li_pair_visit_fn fn, void *ud);

#endif
