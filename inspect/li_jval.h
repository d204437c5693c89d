/*
 * li_jval — values read in place from a JSON text that li_json_scan has
 * already validated: an object's members by name, an array's elements, a
 * string decoded, an integer. No tree is built.
 *
 * Why not jansson: didOpen and didChange carry whole documents, and a
 * jansson tree costs about 250 instructions a byte (30 ms for a 400 KiB
 * file on the relay's thread); and jansson's parser drops characters when
 * an allocation fails (its lexer ignores a failed append), which would make
 * what li_state tracks silently wrong. Here a member lookup is one
 * li_json_scan, an element a skip to its end, a string a copy of the runs
 * between its escapes; only li_jval_string allocates, and it fails whole.
 *
 * Input. Every function expects text that li_json_scan accepted (the body
 * of a message li_classify validated). Given other text they stay within
 * the value's span and never crash, but what they return is unspecified.
 * Spans point into the caller's buffer, which must outlive them.
 *
 * No state of its own: thread-safe as long as the text does not change.
 */
#ifndef LSPTAP_INSPECT_LI_JVAL_H
#define LSPTAP_INSPECT_LI_JVAL_H

#include <stddef.h>
#include <stdint.h>

#include "inspect/li_json.h"

/* A JSON value: its text (s.p NULL when absent) and its type (LI_J_NONE
 * when absent). A zeroed struct is an absent value. */
struct li_jval {
    struct li_span s;
    enum li_jtype t;
};

/* The value whose text is span, which starts at the value's first byte
 * (as li_msg's spans do); absent when span.p is NULL. */
struct li_jval li_jval_of(struct li_span span);

/* The value that a whole body[0..len) holds: leading whitespace skipped;
 * type LI_J_NONE when nothing but whitespace. */
struct li_jval li_jval_top(const char *body, size_t len);

/* Sets out[i] to the member of the object obj named keys[i], for i < n.
 * Names are compared with the key as written, between its quotes: a key
 * spelled with an escape ("\u0075ri") is not "uri". A key that is absent,
 * or every key when obj is not an object, leaves out[i] absent; a key
 * written twice gives the last. */
void li_jval_members(const struct li_jval *obj, const char *const *keys, int n,
                     struct li_jval *out);

/* Reading an array's elements in order:
 *     struct li_jval_iter it;
 *     for (li_jval_elements(&arr, &it); li_jval_next(&it, &el);) ...
 * An iterator over a value that is not an array yields nothing. */
struct li_jval_iter {
    const char *p, *end;
};
void li_jval_elements(const struct li_jval *arr, struct li_jval_iter *it);
/* The next element into *el: 1, or 0 after the last. */
int li_jval_next(struct li_jval_iter *it, struct li_jval *el);

/* Decodes the string v (its JSON text, quotes included, at least 2 bytes)
 * into out, which has room for v->s.len bytes: a decoded string is never
 * longer than its JSON text. Escapes become their characters, a surrogate
 * pair one character, a lone surrogate U+FFFD (li_json_scan lets none
 * through). Not NUL-terminated; may hold NULs (\u0000). Returns the
 * decoded length. */
size_t li_jval_decode_into(const struct li_jval *v, char *out);

/* The string v decoded into a new buffer the caller frees, NUL-terminated
 * (*n is the length without it; the text may hold NULs). NULL when v is not
 * a string or out of memory. */
char *li_jval_string(const struct li_jval *v, size_t *n);

/* The JSON integer v. Sets *ok to 1 when v is an integer (no fraction, no
 * exponent) in int64_t's range and not negative unless neg is set, and
 * returns it; else *ok is 0 and the value is -1. */
int64_t li_jval_int(const struct li_jval *v, int neg, int *ok);

#endif
