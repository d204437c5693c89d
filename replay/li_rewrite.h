/*
 * li_rewrite — moves a recorded session from one workspace root to another.
 *
 * `--rewrite-root OLD=NEW` replaces OLD by NEW in every string and every
 * object key of a JSON value: plain paths ("/home/ann/proj/main.go") and the
 * same path inside file URIs, whether written literally or percent-encoded
 * ("file:///home/ann/my%20proj/main.go" matches OLD "/home/ann/my proj";
 * escapes are matched in either hex case). A match must be a whole path
 * prefix: it starts at the beginning of the string, after "file://" or after
 * a byte that cannot be part of a path name, and ends at the end of the
 * string or before a byte that cannot continue a name (so OLD "/w/a" leaves
 * "/w/ab" alone). A match written with any escape is replaced by NEW
 * percent-encoded the way VS Code encodes URI paths (every byte except
 * A-Z a-z 0-9 - . _ ~ / as %XX, upper case), and so is a match right after
 * "file://" (a URI path); any other literal match by NEW as is.
 * Pure: no I/O.
 */
#ifndef LSPTAP_REPLAY_LI_REWRITE_H
#define LSPTAP_REPLAY_LI_REWRITE_H

#include <jansson.h>
#include <stddef.h>

struct li_rewrite {
    char *from; /* without trailing '/', unless it is "/" */
    char *to;
};

/* Parses "OLD=NEW" (split at the first '=' that is followed by '/'; both
 * must be absolute paths). Returns 0, or -1 with a sentence in err. Free
 * with li_rewrite_free. */
int li_rewrite_parse(const char *spec, struct li_rewrite *rw, char *err, size_t errlen);
void li_rewrite_free(struct li_rewrite *rw);

/* The same rewrite the other way round (NEW=OLD); borrows rw's strings. */
struct li_rewrite li_rewrite_reverse(const struct li_rewrite *rw);

/* s with every match of from replaced: a malloc'd string, or NULL when
 * nothing matched (or out of memory). */
char *li_rewrite_str(const char *s, size_t len, const char *from, const char *to, size_t *out_len);

/* A deep copy of v with every string and key rewritten. rw NULL or with no
 * `from` gives a plain deep copy. Returns a new reference (NULL: no memory). */
json_t *li_rewrite_json(const json_t *v, const struct li_rewrite *rw);

#endif
