/*
 * li_scrub_int — private to li_scrub.c and li_scrub_schema.c: the scrubber's
 * state and the free-text services li_scrub.c offers the schema walk. Calls
 * go one way: li_scrub_schema.c calls these; li_scrub.c never calls into
 * li_scrub_schema.c.
 *
 * Every li_scrub_put_* appends to o (an li_buf: a failed allocation sets
 * o->oom and later appends do nothing) and counts what it replaced in s.
 */
#ifndef LSPTAP_INSPECT_LI_SCRUB_INT_H
#define LSPTAP_INSPECT_LI_SCRUB_INT_H

#include <jansson.h>
#include <stddef.h>

#include "inspect/li_buf.h"
#include "inspect/li_scrub.h"

struct li_scrub {
    li_scrub_secret_fn is_secret;
    json_t *map[LI_SCRUB_KINDS]; /* original -> placeholder string */
    size_t occ[LI_SCRUB_KINDS];
    size_t made[LI_SCRUB_KINDS]; /* placeholders made: the next one's number - 1 */
    json_t *roots;               /* array of root paths, in the order added */
    json_t *common;              /* lower-case common words -> true */
    json_t *keywords;            /* Go keywords and predeclared names -> true */
    json_t *sensitive;           /* lower-case words never kept */
    int oom;                     /* a map or a root could not be stored */
};

#define LI_SCRUB_COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* How free text is read: T_KEEP_WORDS keeps the common words (prose, not
 * source text); T_PATHS recognises paths, file URIs, URL credentials and
 * IPv4 addresses before words. */
enum { LI_SCRUB_T_KEEP_WORDS = 1, LI_SCRUB_T_PATHS = 2 };

/* p[0..n) scrubbed as text (flags as above). */
void li_scrub_put_text(struct li_scrub *s, struct li_buf *o, const char *p, size_t n, int flags);

/* p[0..n) as one name of a path: kept when it says where Go keeps things,
 * else dirN, or fileN.EXT when last and it has an extension. */
void li_scrub_put_name(struct li_scrub *s, struct li_buf *o, const char *p, size_t n, int last);

/* A secret's value: "<secret>", counted as one. */
void li_scrub_put_secret(struct li_scrub *s, struct li_buf *o, const char *p, size_t n);

/* Counts v[0..n) as a value of kind k replaced as a whole (an environment
 * value), without writing anything. */
void li_scrub_count_value(struct li_scrub *s, enum li_scrub_kind k, const char *v, size_t n);

/* 1 when p[0..n) starts with lit (lower case), compared without regard to case. */
int li_scrub_starts_ci(const char *p, size_t n, const char *lit);

#endif
