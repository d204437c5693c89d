/*
 * li_json — a validating single-pass JSON scanner that keeps only the
 * members of the top-level object.
 *
 * The relay calls it on every message in the event-loop thread, so it never
 * allocates and never recurses: nesting is tracked with a bit stack of
 * LI_JSON_MAX_DEPTH levels. Nested values are validated and skipped; each
 * member of a top-level object is handed to a callback as raw spans into
 * the caller's buffer.
 *
 * What "valid" means here (docs/session-format.md): RFC 8259 grammar, UTF-8
 * checked (no overlong forms, no surrogates, nothing above U+10FFFF), and,
 * as I-JSON (RFC 7493) asks, no unpaired surrogate in a \u escape. The
 * stricter rules keep every body the scanner accepts parseable by jansson,
 * which the session reader uses; nesting deeper than LI_JSON_MAX_DEPTH is
 * rejected for the same reason (jansson stops at 2048).
 */
#ifndef LSPTAP_INSPECT_LI_JSON_H
#define LSPTAP_INSPECT_LI_JSON_H

#include <stddef.h>

/* Raw JSON text of a value inside the body: a string keeps its quotes. */
struct li_span {
    const char *p; /* NULL when absent */
    size_t len;
};

#define LI_JSON_MAX_DEPTH 512

enum li_jtype {
    LI_J_NONE, /* nothing scanned yet */
    LI_J_OBJECT,
    LI_J_ARRAY,
    LI_J_STRING,
    LI_J_NUMBER,
    LI_J_TRUE,
    LI_J_FALSE,
    LI_J_NULL,
};

/* One member of the top-level object. Spans point into the scanned buffer;
 * the key keeps its quotes and its escapes as written. */
struct li_json_member {
    struct li_span key;
    struct li_span val;
    enum li_jtype type;
    int partial; /* scanning a prefix: the value is cut by the end of input */
};

typedef void (*li_json_member_fn)(void *ud, const struct li_json_member *m);

/* Set in li_json_result.flags: a number that jansson (and any reader built
 * on int64/double) may refuse: an integer of more than 18 digits, or a
 * number with an exponent or a huge integer part that may overflow a
 * double. Rare; the caller may confirm with a full parser. */
#define LI_JSON_F_WIDE_NUMBER 1u
/* Set when a raw CR or LF appears between tokens (pretty-printed JSON). */
#define LI_JSON_F_NEWLINE 2u
/* Set when a string holds the escape \u0000: valid JSON, but jansson
 * refuses it in an object key (even with JSON_ALLOW_NUL). */
#define LI_JSON_F_NUL_ESCAPE 4u

struct li_json_result {
    int ok;            /* the whole buffer is exactly one valid JSON value */
    enum li_jtype top; /* type of the top-level value (LI_J_NONE: empty) */
    size_t err_off;    /* when !ok: offset of the offending byte (len at EOF) */
    const char *why;   /* when !ok: static text, "expected ':'" ... */
    unsigned flags;    /* LI_JSON_F_* */
};

/* Scans buf[0..len). Calls fn (may be NULL) for every member of a top-level
 * object, in order, once its value is complete. With `partial` set, buf is
 * a prefix of a value: reaching its end is not an error, members seen so
 * far are reported, and so is the member whose value the end cuts (with
 * m->partial set); ok is 0 unless the prefix happens to be complete.
 * Returns 0 when valid, -1 otherwise (r->why says why). */
int li_json_scan(const char *buf, size_t len, int partial, li_json_member_fn fn, void *ud,
                 struct li_json_result *r);

/* Length of the prefix of s[0..len) that is valid UTF-8 (len when all is). */
size_t li_utf8_valid_prefix(const char *s, size_t len);

/* The type of the JSON value whose first byte is c (anything that is not
 * an object, array, string or literal reads as a number). */
static inline enum li_jtype li_json_type_of(unsigned c)
{
    switch (c) {
    case '{':
        return LI_J_OBJECT;
    case '[':
        return LI_J_ARRAY;
    case '"':
        return LI_J_STRING;
    case 't':
        return LI_J_TRUE;
    case 'f':
        return LI_J_FALSE;
    case 'n':
        return LI_J_NULL;
    default:
        return LI_J_NUMBER;
    }
}

#endif
