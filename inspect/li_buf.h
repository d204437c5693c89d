/*
 * li_buf — a growable, NUL-terminated text that remembers running out of
 * memory.
 *
 * An append that cannot grow the buffer sets `oom` and every later append
 * does nothing, so a caller builds a whole text with unchecked appends and
 * checks `oom` once at the end (the text is then cut short, not corrupt).
 * Start from `struct li_buf b = {0}`; `p` is NULL until the first append,
 * then always NUL-terminated; the caller owns `p` (li_buf_free, or take it
 * and free it later).
 */
#ifndef LSPTAP_INSPECT_LI_BUF_H
#define LSPTAP_INSPECT_LI_BUF_H

#include <stddef.h>

struct li_buf {
    char *p;
    size_t len, cap;
    int oom;
};

/* Appends n bytes of s (which may hold NULs). */
void li_buf_put(struct li_buf *b, const char *s, size_t n);
/* Appends the C string s. */
void li_buf_str(struct li_buf *b, const char *s);
/* Appends one byte. */
void li_buf_ch(struct li_buf *b, char c);
/* Frees the text and leaves an empty buffer. */
void li_buf_free(struct li_buf *b);

#endif
